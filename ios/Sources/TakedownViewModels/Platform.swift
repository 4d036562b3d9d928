// The small protocols the app implements (PhotosUI + ImageIO decoding, LocalAuthentication,
// UserDefaults), so the view models are tested here with real implementations of their own
// (pixels decoded from test fixtures, an authenticator that answers as told).
import Foundation
import TakedownCore

/// One item the user picked. Only what the review screen shows is held, in memory:
/// never a file name or path.
public struct PickedItem: Identifiable, Hashable, Sendable {
    /// An opaque id the media source understands (a PHPicker result's index or
    /// asset identifier), never shown.
    public let id: String
    /// Picture or video.
    public let kind: MediaKind
    /// A small thumbnail (encoded), in memory only; `nil` when none was made.
    public let thumbnail: Data?

    /// A picked item.
    public init(id: String, kind: MediaKind, thumbnail: Data? = nil) {
        self.id = id
        self.kind = kind
        self.thumbnail = thumbnail
    }
}

/// Turns picked items into what the core hashes, one at a time: decoded pixels at or
/// above the core's minimum size with the file's bytes (`MediaInput.imagePixels`), or a
/// video pushed through `VideoHasher` (`MediaInput.video`). The hashing screen asks for
/// one item, hashes it, and drops it before asking for the next.
public protocol MediaSource: AnyObject, Sendable {
    /// Decodes `item`. Throws `CancellationError` (or `TakedownError.Cancelled`) when
    /// the calling task is cancelled; any other error marks only this item unreadable.
    func input(for item: PickedItem) async throws -> MediaInput
    /// The item left the selection (removed, sent, or the app was left): drop whatever
    /// is kept for it (a copy in the caches directory, a security-scoped URL).
    func discard(_ item: PickedItem)
}

/// The device owner check behind the app lock (LocalAuthentication on iOS).
public protocol LockAuthenticator: AnyObject, Sendable {
    /// Asks for Face ID / Touch ID / the passcode; `true` when the owner confirmed.
    func authenticate() async -> Bool
}

/// Where the app keeps its few settings (UserDefaults on iOS, excluded from backups
/// with the rest of the app's data).
public protocol Preferences: AnyObject {
    /// Whether the app lock is on.
    var lockEnabled: Bool { get set }
    /// Whether the neutral icon is shown (the app switches its alternate icon).
    var neutralIcon: Bool { get set }
}

/// Preferences held in memory (previews, tests, and a fallback).
public final class MemoryPreferences: Preferences {
    /// Whether the app lock is on.
    public var lockEnabled: Bool
    /// Whether the neutral icon is shown.
    public var neutralIcon = false
    /// Preferences with the lock `lockEnabled`.
    public init(lockEnabled: Bool = false) { self.lockEnabled = lockEnabled }
}

/// Opens the core (on iOS: the Application Support directory, the Keychain key
/// provider, the service URL from the bundle). Called again after "delete everything".
public typealias CoreOpener = @Sendable () async throws -> Takedown

/// Removes the history files and the key, for a history that cannot be opened at
/// all (the app offers it on the start screen; cases come back with `restoreCase`).
public typealias HistoryWiper = @Sendable () async throws -> Void

/// The core's change listener as an `AsyncStream`: every change of the queue, the
/// history or the stored status (a background flush too) is yielded; the view models
/// re-read what they show.
public final class CoreChanges: ChangeListener, @unchecked Sendable {
    /// The changes, in order; ends when `finish` is called.
    public let stream: AsyncStream<Change>
    private let continuation: AsyncStream<Change>.Continuation

    /// A listener with its stream (buffering the newest 64 changes).
    public init() {
        var c: AsyncStream<Change>.Continuation!
        stream = AsyncStream(bufferingPolicy: .bufferingNewest(64)) { c = $0 }
        continuation = c
    }

    /// Called by the core on the thread that made the change.
    public func onChange(change: Change) { continuation.yield(change) }

    /// Ends the stream.
    public func finish() { continuation.finish() }
}

/// Runs a synchronous core call (a local database read or write) off the main actor.
func offMain<T: Sendable>(_ body: @escaping @Sendable () throws -> T) async throws -> T {
    try await Task.detached(priority: .userInitiated) { try body() }.value
}
