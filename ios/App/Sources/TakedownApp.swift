// The app's entry: builds the AppModel over the platform glue, follows the scene phase
// (privacy cover, lock), registers the background flush. No logic lives here that the
// view-model tests cannot reach.
import BackgroundTasks
import SwiftUI
import TakedownCore
import TakedownViewModels

@main
struct TakedownApp: App {
    @Environment(\.scenePhase) private var scenePhase
    @State private var app: AppModel
    private let picker: PhotoPickerSource

    init() {
        let source = PhotoPickerSource()
        picker = source
        let model = AppModel(
            opener: AppEnvironment.openCore,
            wiper: AppEnvironment.wipeHistory,
            source: source,
            authenticator: DeviceOwnerAuthenticator(),
            preferences: UserDefaultsPreferences()
        )
        _app = State(initialValue: model)
        BackgroundFlush.register(app: model)
        ConnectivityFlush.shared.start(app: model)
    }

    var body: some Scene {
        WindowGroup {
            RootView(app: app, picker: picker)
                .task { await app.launch() }
        }
        .onChange(of: scenePhase) { _, phase in
            switch phase {
            case .active: app.scenePhaseChanged(.active)
            case .inactive: app.scenePhaseChanged(.inactive)
            case .background:
                app.scenePhaseChanged(.background)
                BackgroundFlush.schedule(at: nil)
            @unknown default: app.scenePhaseChanged(.inactive)
            }
        }
    }
}

/// Where the app keeps its history, and which service it talks to.
enum AppEnvironment {
    /// Application Support/Takedown, excluded from backups (iCloud and computer).
    static func dataDirectory() throws -> URL {
        var dir = try FileManager.default.url(for: .applicationSupportDirectory, in: .userDomainMask,
                                              appropriateFor: nil, create: true)
            .appendingPathComponent("Takedown", isDirectory: true)
        try FileManager.default.createDirectory(at: dir, withIntermediateDirectories: true)
        var values = URLResourceValues()
        values.isExcludedFromBackup = true
        try dir.setResourceValues(values)
        // Files already there too (the flag is per item).
        if let files = FileManager.default.enumerator(at: dir, includingPropertiesForKeys: nil) {
            for case var file as URL in files { try? file.setResourceValues(values) }
        }
        return dir
    }

    /// The service URL from Info.plist (`TakedownServiceURL`).
    static var serviceURL: String {
        Bundle.main.object(forInfoDictionaryKey: "TakedownServiceURL") as? String ?? ""
    }

    /// Removes an unreadable history and its Keychain key.
    static let wipeHistory: HistoryWiper = {
        let dir = try dataDirectory()
        try FileManager.default.removeItem(at: dir)
        try KeychainKeyProvider().deleteKey()
    }

    /// Opens the core off the main thread with the Keychain key.
    static let openCore: CoreOpener = {
        let dir = try dataDirectory()
        return try await openTakedown(dataDir: dir.path, serviceUrl: serviceURL,
                                      keyProvider: KeychainKeyProvider(), options: NetworkOptions())
    }
}
