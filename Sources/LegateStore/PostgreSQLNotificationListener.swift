import Foundation
import Synchronization

/// Waits for `NOTIFY` on one channel over a dedicated connection, on a thread of its own, and calls `wake` for
/// each. A lost connection is reopened (and the channel listened to again) every second until the server is
/// back; `wake` is called after each reconnect too, since notifications sent meanwhile were lost.
/// `@unchecked Sendable`: the connection is touched only by the listening thread; `stopped` is atomic.
final class PostgreSQLNotificationListener: NodeNotificationListening, @unchecked Sendable {
    private let url: String
    private let address: String
    private let channel: String
    private let wake: @Sendable () -> Void
    private let stopped = Atomic<Bool>(false)
    private let finished = DispatchSemaphore(value: 0)

    /// Starts listening on `channel` at `url`.
    init(url: String, address: String, channel: String, wake: @escaping @Sendable () -> Void) {
        self.url = url
        self.address = address
        self.channel = channel
        self.wake = wake
        let thread = Thread { [self] in self.run() }
        thread.name = "legate.pg-listen"
        thread.start()
    }

    /// Stops the thread (within about a second) and waits for it.
    func stop() {
        guard !self.stopped.exchange(true, ordering: .acquiringAndReleasing) else { return }
        self.finished.wait()
    }

    private func run() {
        defer { self.finished.signal() }
        var connection: PostgreSQLConnection?
        while !self.stopped.load(ordering: .acquiring) {
            do throws(StoreError) {
                if connection == nil {
                    let opened = try PostgreSQLConnection(connectionString: self.url, address: self.address)
                    try opened.execute("LISTEN \"\(self.channel)\"", operation: "listen for node controls")
                    connection = opened
                    self.wake()  // whatever was notified while not listening
                }
                guard let open = connection else { continue }
                var descriptor = pollfd(fd: try open.socketDescriptor(), events: Int16(POLLIN), revents: 0)
                _ = poll(&descriptor, 1, 1000)
                if !(try open.notifiedChannels()).isEmpty { self.wake() }
            } catch {
                connection = nil
                _ = self.finished.wait(timeout: .now() + .seconds(1))  // never signalled here: a bounded pause
            }
        }
    }
}
