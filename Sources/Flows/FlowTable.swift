/// An open-addressing hash table from ``FlowKey`` to a value, for millions of flows.
///
/// Linear probing over an index of 64-bit slots (the hash's low 32 bits, which
/// also give the home position, + entry number) at most 80 % full (the tags keep
/// the longer probe runs cheap: 8 slots per cache line, entries touched only on a
/// tag match), backward-shift deletion (no tombstones), and entries kept in
/// fixed-size chunks so growth never copies them nor doubles their memory.
/// Removed entries are recycled. Not thread-safe: one owner task.
public struct FlowTable<Value> {
    @usableFromInline static var chunkShift: Int { 12 }
    @usableFromInline static var chunkMask: Int { (1 << chunkShift) - 1 }

    @usableFromInline struct Entry {
        @usableFromInline var key: FlowKey
        @usableFromInline var value: Value
        @usableFromInline init(key: FlowKey, value: Value) { self.key = key; self.value = value }
    }

    @usableFromInline var index: [UInt64]
    @usableFromInline var mask: Int
    @usableFromInline var chunks: [[Entry]] = []
    @usableFromInline var free: [Int32] = []
    @usableFromInline var allocated = 0
    /// The number of flows in the table.
    public var count: Int { _count }
    @usableFromInline var _count = 0

    /// Creates a table with room for `capacity` flows before its index grows.
    public init(capacity: Int = 1024) {
        var size = 16
        while size * 8 < capacity * 10 { size <<= 1 }
        index = [UInt64](repeating: 0, count: size)
        mask = size - 1
    }

    /// Makes room for `capacity` flows without growing the index.
    public mutating func reserve(_ capacity: Int) {
        var size = index.count
        while size * 8 < capacity * 10 { size <<= 1 }
        if size != index.count { rehash(size) }
    }

    /// Bytes the table holds: index plus entry chunks.
    public var memoryFootprint: Int {
        index.count * 8 + chunks.count * (1 << Self.chunkShift) * MemoryLayout<Entry>.stride + free.capacity * 4
    }

    /// The entry number for `key`, or `nil`.
    @inlinable
    public func find(_ key: FlowKey) -> Int? {
        let tag = key.tableHash & 0xFFFF_FFFF
        var i = Int(truncatingIfNeeded: tag) & mask
        while true {
            let slot = index[i]
            if slot == 0 { return nil }
            if slot >> 32 == tag {
                let e = Int(truncatingIfNeeded: slot & 0xFFFF_FFFF) - 1
                if chunks[e >> Self.chunkShift][e & Self.chunkMask].key == key { return e }
            }
            i = (i + 1) & mask
        }
    }

    /// Inserts `key` (which must not be present) and returns its entry number.
    @inlinable
    public mutating func insert(_ key: FlowKey, _ value: Value) -> Int {
        if (count + 1) * 10 > index.count * 8 { rehash(index.count * 2) }  // load ≤ 0.8
        let e: Int
        if let reused = free.popLast() {
            e = Int(reused)
            chunks[e >> Self.chunkShift][e & Self.chunkMask] = Entry(key: key, value: value)
        } else {
            e = allocated
            allocated += 1
            if e >> Self.chunkShift == chunks.count {
                var chunk: [Entry] = []
                chunk.reserveCapacity(1 << Self.chunkShift)
                chunks.append(chunk)
            }
            chunks[e >> Self.chunkShift].append(Entry(key: key, value: value))
        }
        place(key.tableHash, e)
        _count += 1
        return e
    }

    @usableFromInline
    mutating func place(_ hash: UInt64, _ e: Int) {
        var i = Int(truncatingIfNeeded: hash) & mask
        while index[i] != 0 { i = (i + 1) & mask }
        index[i] = (hash & 0xFFFF_FFFF) << 32 | UInt64(e + 1)
    }

    /// Removes the entry number `e` (as returned by ``find(_:)`` or ``insert(_:_:)``).
    public mutating func remove(at e: Int) {
        let key = chunks[e >> Self.chunkShift][e & Self.chunkMask].key
        let hash = key.tableHash
        var i = Int(truncatingIfNeeded: hash) & mask
        while Int(truncatingIfNeeded: index[i] & 0xFFFF_FFFF) - 1 != e {
            if index[i] == 0 { return }
            i = (i + 1) & mask
        }
        // Backward-shift deletion keeps every probe chain unbroken.
        var hole = i
        var j = (i + 1) & mask
        while index[j] != 0 {
            let home = Int(truncatingIfNeeded: index[j] >> 32) & mask  // no entry access: the tag is the hash
            // Move j into the hole if its home is not cyclically in (hole, j].
            let inRange = hole <= j ? (home > hole && home <= j) : (home > hole || home <= j)
            if !inRange {
                index[hole] = index[j]
                hole = j
            }
            j = (j + 1) & mask
        }
        index[hole] = 0
        free.append(Int32(e))
        _count -= 1
    }

    /// The key of entry `e`.
    @inlinable public func key(at e: Int) -> FlowKey { chunks[e >> Self.chunkShift][e & Self.chunkMask].key }

    /// The value of entry `e`, readable and writable in place.
    @inlinable public subscript(e: Int) -> Value {
        get { chunks[e >> Self.chunkShift][e & Self.chunkMask].value }
        _modify { yield &chunks[e >> Self.chunkShift][e & Self.chunkMask].value }
    }

    /// The live entry at or after index slot `position` (wrapping), or `nil` when empty:
    /// a cheap random pick for sampled eviction.
    public func entry(near position: Int) -> Int? {
        guard _count > 0 else { return nil }
        var i = position & mask
        while index[i] == 0 { i = (i + 1) & mask }
        return Int(truncatingIfNeeded: index[i] & 0xFFFF_FFFF) - 1
    }

    /// Every live entry number (order unspecified).
    public var entries: [Int] {
        var out: [Int] = []
        out.reserveCapacity(count)
        for slot in index where slot != 0 { out.append(Int(truncatingIfNeeded: slot & 0xFFFF_FFFF) - 1) }
        return out
    }

    @usableFromInline
    mutating func rehash(_ size: Int) {
        var newIndex = [UInt64](repeating: 0, count: size)
        let newMask = size - 1
        for slot in index where slot != 0 {
            var i = Int(truncatingIfNeeded: slot >> 32) & newMask
            while newIndex[i] != 0 { i = (i + 1) & newMask }
            newIndex[i] = slot
        }
        index = newIndex
        mask = newMask
    }
}

/// Values kept beside some of a ``FlowTable``'s entries, by entry number, in chunks of
/// 4096 like the table's own entries (no doubling slack): for facts only some
/// configurations need, so the others pay nothing for them.
struct EntryStore<Value> {
    var chunks: [[Value]] = []
    let initial: Value

    init(_ initial: Value) { self.initial = initial }

    /// Whether entry `e` has a value slot.
    @inline(__always) func contains(_ e: Int) -> Bool { e >> 12 < chunks.count }

    /// Makes room for entry `e` and sets it to the initial value.
    mutating func reset(_ e: Int) {
        while e >> 12 >= chunks.count { chunks.append(Array(repeating: initial, count: 1 << 12)) }
        chunks[e >> 12][e & 4095] = initial
    }

    @inline(__always) subscript(e: Int) -> Value {
        get { chunks[e >> 12][e & 4095] }
        _modify { yield &chunks[e >> 12][e & 4095] }
    }

    var memoryFootprint: Int { chunks.count * (1 << 12) * MemoryLayout<Value>.stride }
}
