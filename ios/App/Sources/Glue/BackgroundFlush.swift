// Sends the queue in the background: a BGAppRefreshTask scheduled for the core's next
// attempt time, whose expiration handler cancels the flushing Task (the core stops and
// keeps the rest queued), plus a flush whenever the network comes back.
import BackgroundTasks
import Foundation
import Network
import TakedownViewModels

enum BackgroundFlush {
    static let identifier = "org.takedown.flush"

    /// Registers the handler (before the app finishes launching).
    static func register(app: AppModel) {
        BGTaskScheduler.shared.register(forTaskWithIdentifier: identifier, using: nil) { task in
            let work = Task { @MainActor in
                // Leave a margin before the system's ~30 s are up.
                let next = await app.flushQueue(timeoutMs: 25_000)
                schedule(at: next)
                task.setTaskCompleted(success: !Task.isCancelled)
            }
            task.expirationHandler = { work.cancel() }
        }
    }

    /// Asks for a run at `date` (the core's next attempt time), or soon when `nil`.
    static func schedule(at date: Date?) {
        let request = BGAppRefreshTaskRequest(identifier: identifier)
        request.earliestBeginDate = date ?? Date(timeIntervalSinceNow: 15 * 60)
        try? BGTaskScheduler.shared.submit(request)
    }
}

/// Flushes when connectivity returns.
final class ConnectivityFlush: @unchecked Sendable {
    static let shared = ConnectivityFlush()
    private let monitor = NWPathMonitor()
    private var wasSatisfied = true

    func start(app: AppModel) {
        monitor.pathUpdateHandler = { [weak self] path in
            guard let self else { return }
            let satisfied = path.status == .satisfied
            defer { self.wasSatisfied = satisfied }
            guard satisfied, !self.wasSatisfied else { return }
            Task { @MainActor in
                let next = await app.flushQueue(timeoutMs: 25_000)
                if next != nil { BackgroundFlush.schedule(at: next) }
            }
        }
        monitor.start(queue: DispatchQueue(label: "org.takedown.connectivity"))
    }
}
