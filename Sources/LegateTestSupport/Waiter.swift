import Foundation
import Synchronization

/// A thread-safe mailbox that tests wait on with a deadline (never a sleep): I/O threads `put`, the test `next`.
public final class Mailbox<Element: Sendable>: Sendable {
    private let condition = NSCondition()
    private let items = Mutex<[Element]>([])

    /// Creates an empty mailbox.
    public init() {}

    /// Adds an element and wakes a waiter.
    public func put(_ element: Element) {
        self.condition.lock()
        self.items.withLock { $0.append(element) }
        self.condition.broadcast()
        self.condition.unlock()
    }

    /// Everything received so far, without removing it.
    public var all: [Element] {
        self.items.withLock { $0 }
    }

    /// Removes and returns the first element, waiting up to `timeout` for one.
    public func next(timeout: Duration = .seconds(10)) -> Element? {
        self.first(timeout: timeout) { _ in true }
    }

    /// Removes and returns the first element matching `predicate`, waiting up to `timeout`.
    public func first(timeout: Duration = .seconds(10), where predicate: (Element) -> Bool) -> Element? {
        let deadline = Date().addingTimeInterval(Self.seconds(timeout))
        self.condition.lock()
        defer { self.condition.unlock() }
        while true {
            let found = self.items.withLock { items -> Element? in
                guard let index = items.firstIndex(where: predicate) else { return nil }
                return items.remove(at: index)
            }
            if let found { return found }
            if !self.condition.wait(until: deadline) { return nil }
        }
    }

    /// Waits until `count` elements match `predicate` (without removing them); false on timeout.
    public func waitForCount(_ count: Int, timeout: Duration = .seconds(10), where predicate: (Element) -> Bool)
        -> Bool
    {
        let deadline = Date().addingTimeInterval(Self.seconds(timeout))
        self.condition.lock()
        defer { self.condition.unlock() }
        while self.items.withLock({ $0.filter(predicate).count }) < count {
            if !self.condition.wait(until: deadline) { return false }
        }
        return true
    }

    static func seconds(_ duration: Duration) -> Double {
        duration / .seconds(1)
    }
}

/// Polls `condition` until it holds or `timeout` passes, waiting on a condition variable between checks so
/// no fixed sleep decides the outcome. Returns whether it held.
public func eventually(timeout: Duration = .seconds(10), _ condition: () -> Bool) -> Bool {
    let deadline = ContinuousClock.now + timeout
    let pause = NSCondition()
    while ContinuousClock.now < deadline {
        if condition() { return true }
        pause.lock()
        _ = pause.wait(until: Date().addingTimeInterval(0.005))
        pause.unlock()
    }
    return condition()
}
