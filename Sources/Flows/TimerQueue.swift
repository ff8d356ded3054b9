/// What a scheduled timer does when it fires (ZEEK_SEMANTICS §3.7, §8).
public enum TimerKind: UInt8, Sendable {
    /// Inactivity: remove if idle for the connection's inactivity timeout, else re-arm.
    case inactivity
    /// TCP attempt: remove an unanswered SYN (S0) `tcp_attempt_delay` after it.
    case attempt
    /// TCP expire: the periodic check that removes wound-down or never-active connections.
    case expire
    /// TCP delete: remove after a complete close (`tcp_close_delay`).
    case delete
}

/// A min-heap of timers ordered by due time, then by insertion order, so
/// connections expire in the order Zeek's timer manager fires them.
struct TimerQueue {
    struct Timer {
        var due: Int64
        var sequence: UInt64
        var entry: Int32
        var kind: TimerKind
        var generation: UInt32
    }

    private(set) var heap: [Timer] = []
    private var sequence: UInt64 = 0

    var count: Int { heap.count }
    var nextDue: Int64? { heap.first?.due }

    mutating func push(due: Int64, entry: Int, kind: TimerKind, generation: UInt32) {
        sequence &+= 1
        heap.append(Timer(due: due, sequence: sequence, entry: Int32(entry), kind: kind, generation: generation))
        var i = heap.count - 1
        while i > 0 {
            let parent = (i - 1) / 2
            guard Self.before(heap[i], heap[parent]) else { break }
            heap.swapAt(i, parent)
            i = parent
        }
    }

    /// Removes and returns the earliest timer due at or before `time`.
    mutating func pop(dueBy time: Int64) -> Timer? {
        guard let first = heap.first, first.due <= time else { return nil }
        let last = heap.removeLast()
        if !heap.isEmpty {
            heap[0] = last
            var i = 0
            while true {
                let l = 2 * i + 1, r = l + 1
                var m = i
                if l < heap.count, Self.before(heap[l], heap[m]) { m = l }
                if r < heap.count, Self.before(heap[r], heap[m]) { m = r }
                if m == i { break }
                heap.swapAt(i, m)
                i = m
            }
        }
        return first
    }

    static func before(_ a: Timer, _ b: Timer) -> Bool {
        a.due != b.due ? a.due < b.due : a.sequence < b.sequence
    }
}
