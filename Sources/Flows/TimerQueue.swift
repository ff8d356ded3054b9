/// What a scheduled timer does when it fires (Docs/ZeekSemantics.md §3.7, §8).
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

/// A hashed timing wheel of timers (Varghese & Lauck): pushing is O(1) into the
/// slot of the timer's due time (slots of 2^27 ns ≈ 0.134 s, 4096 slots ≈ 9 min
/// ahead; later timers wait in an overflow list). Timers still fire exactly in
/// (due time, connection generation) order: the slot under the cursor is kept
/// sorted, so connections due at the same instant end oldest first.
/// A timer is 16 bytes; a connection has one in the wheel (plus stale ones, rarely).
struct TimerQueue {
    struct Timer {
        var due: Int64
        var entry: Int32
        /// The low 32 bits of the connection's serial: tells a timer of a connection
        /// that has ended (and whose entry was reused) from a live one.
        var generation: UInt32

        /// Firing order: due time, then the older connection.
        static func before(_ a: Timer, _ b: Timer) -> Bool {
            // Serials compared modulo 2^32: right for connections created within 2^31 serials
            // of each other.
            a.due != b.due ? a.due < b.due : Int32(bitPattern: a.generation &- b.generation) < 0
        }
    }

    static let slotShift: Int64 = 27
    static let slotCount = 4096
    static let slotMask = Int64(slotCount - 1)

    private var slots: [[Timer]] = Array(repeating: [], count: slotCount)
    private var overflow: [Timer] = []
    /// The timers of the cursor's slot, sorted latest first (the next to fire is last).
    private var current: [Timer] = []
    /// The slot number (due >> slotShift) the wheel stands at.
    private var cursor: Int64 = .min
    private(set) var count = 0
    /// Timers in `slots` (not in `current` or `overflow`): when none, the cursor can jump.
    private var inSlots = 0

    /// Memory the wheel holds, in bytes.
    var memoryFootprint: Int {
        (slots.reduce(0) { $0 + $1.capacity } + overflow.capacity + current.capacity) * MemoryLayout<Timer>.stride
    }

    mutating func push(due: Int64, entry: Int, generation: UInt32) {
        count += 1
        let timer = Timer(due: due, entry: Int32(entry), generation: generation)
        if cursor == .min { start(at: due >> Self.slotShift) }
        let slot = due >> Self.slotShift
        if slot <= cursor {
            // Due in the slot under the cursor (or already overdue): keep `current` sorted.
            var lo = 0, hi = current.count
            while lo < hi {
                let mid = (lo + hi) / 2
                if Timer.before(timer, current[mid]) { lo = mid + 1 } else { hi = mid }
            }
            current.insert(timer, at: lo)
        } else if slot - cursor < Int64(Self.slotCount) {
            let index = Int(slot & Self.slotMask)
            slots[index].append(timer)
            inSlots += 1
        } else {
            overflow.append(timer)
        }
    }

    private mutating func start(at slot: Int64) {
        cursor = slot
        load()
    }

    /// Moves the cursor slot's timers of this revolution into `current`, sorted.
    private mutating func load() {
        let index = Int(cursor & Self.slotMask)
        guard !slots[index].isEmpty else { return }
        var later: [Timer] = []
        for t in slots[index] {
            if t.due >> Self.slotShift <= cursor { current.append(t) } else { later.append(t) }
        }
        inSlots -= slots[index].count - later.count
        slots[index] = later
        current.sort { Timer.before($1, $0) }
    }

    /// Removes and returns the earliest timer due at or before `time`.
    mutating func pop(dueBy time: Int64) -> Timer? {
        if cursor == .min { start(at: time >> Self.slotShift) }
        let target = time >> Self.slotShift
        while true {
            if let next = current.last {
                guard next.due <= time else { return nil }  // everything else is later still
                current.removeLast()
                count -= 1
                return next
            }
            guard count > 0, cursor < target else { return nil }
            if inSlots == 0 {
                // Nothing in the wheel: jump to the earliest overflow timer or to `time`
                // (a capture may skip years between packets), never slot by slot.
                var next = target
                for t in overflow { next = min(next, t.due >> Self.slotShift) }
                cursor = max(cursor + 1, next)
                reinsertOverflow()
            } else {
                cursor += 1
                if cursor & Self.slotMask == 0 { reinsertOverflow() }
            }
            load()
        }
    }

    /// Moves overflow timers that are now within the wheel's horizon into their slots.
    private mutating func reinsertOverflow() {
        guard !overflow.isEmpty else { return }
        let pending = overflow
        overflow = []
        for t in pending {
            let slot = t.due >> Self.slotShift
            if slot <= cursor {
                current.append(t)
            } else if slot - cursor < Int64(Self.slotCount) {
                slots[Int(slot & Self.slotMask)].append(t)
                inSlots += 1
            } else {
                overflow.append(t)
            }
        }
        current.sort { Timer.before($1, $0) }
    }
}
