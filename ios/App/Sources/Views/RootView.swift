// Renders the AppModel's screen; a quick-exit control on every screen; a plain cover
// whenever the app is not active.
import SwiftUI
import UIKit
import TakedownViewModels

struct RootView: View {
    let app: AppModel
    let picker: PhotoPickerSource

    var body: some View {
        ZStack {
            NavigationStack {
                screen
                    .padding()
                    .frame(maxWidth: .infinity, maxHeight: .infinity, alignment: .topLeading)
                    .toolbar {
                        ToolbarItem(placement: .topBarLeading) {
                            if showsBack {
                                CatalogButton(.actionBack) { Task { await app.back() } }
                            }
                        }
                        ToolbarItem(placement: .topBarTrailing) { QuickExitButton(app: app) }
                    }
            }
            if app.coverVisible { PrivacyCover() }
        }
    }

    private var showsBack: Bool {
        switch app.screen {
        case .lock, .start, .closed, .caseNumber, .hashing: return false
        default: return true
        }
    }

    @ViewBuilder private var screen: some View {
        switch app.screen {
        case .lock: LockView(app: app)
        case .start: StartView(app: app)
        case .eligibility: if let flow = app.flow { EligibilityView(flow: flow) }
        case .notEligible: if let flow = app.flow { NotEligibleView(app: app, flow: flow) }
        case .pick: if let flow = app.flow { PickView(app: app, flow: flow, picker: picker) }
        case .review: if let flow = app.flow { ReviewView(flow: flow) }
        case .hashing: if let flow = app.flow { HashingView(flow: flow) }
        case .submit: if let flow = app.flow { SubmitView(app: app, flow: flow) }
        case .caseNumber: if let flow = app.flow { CaseNumberView(app: app, flow: flow) }
        case .history: if let history = app.history { HistoryView(app: app, history: history) }
        case .detail: if let detail = app.detail { CaseDetailView(app: app, detail: detail) }
        case .settings: if let settings = app.settings { SettingsView(app: app, settings: settings) }
        case .help: HelpView()
        case .restore: RestoreView(app: app)
        case .closed: Color(.systemBackground)
        }
    }
}

/// "Leave now": drops every screen and the open history, then leaves the app at once.
/// iOS has no API to remove an app from the app switcher; its card shows the privacy
/// cover (the snapshot is taken while the cover is up).
struct QuickExitButton: View {
    let app: AppModel

    var body: some View {
        Button {
            app.quickExit()
            // Let the cover render, then end the process: nothing stays in memory.
            DispatchQueue.main.asyncAfter(deadline: .now() + 0.05) { exit(0) }
        } label: {
            Label { Text(verbatim: L10nKey.quickExit.text) } icon: { Image(systemName: "xmark.circle.fill") }
                .labelStyle(.titleAndIcon)
                .font(.headline)
        }
        .tint(.red)
        .accessibilityLabel(Text(verbatim: L10nKey.quickExit.text))
        .accessibilityHint(Text(verbatim: L10nKey.quickExitHint.text))
    }
}

/// Shown over everything while the app is inactive or in the background, so app
/// switcher snapshots show nothing.
struct PrivacyCover: View {
    var body: some View {
        Color(.systemBackground)
            .ignoresSafeArea()
            .overlay(Image(systemName: "lock.fill").font(.largeTitle).foregroundStyle(.secondary))
            .accessibilityHidden(true)
    }
}

/// A calm note or an error, from the catalog.
struct Note: View {
    let message: Message?
    var isError = false

    var body: some View {
        if let message {
            CatalogText(message)
                .foregroundStyle(isError ? Color.red : Color.secondary)
                .accessibilityAddTraits(.updatesFrequently)
        }
    }
}
