import Dispatch
import Flows
import Packets
import Synchronization

// The pipeline of `FlowTracker` with several threads (TrackerConfiguration.threads > 1):
//
//   reading thread: libpcap → decode → fragments → batch of decoded packets ──┐
//        ▲                                                                      │ published to every shard
//        │ events merged in one-thread order, handed to the caller            ▼
//   shard 0 … shard N-1: each a ConnectionTable tracking the connections whose
//        symmetric 5-tuple hash picks it, and advancing its timers at every packet
//
// Every shard sees every packet's time, so timers fire at the same packets as on one thread;
// connections are numbered by the position of the packet that created them, so uids do not
// depend on the shard layout; each event carries the key that orders it as one thread would
// (packet position; timer events before the packet's own, by due time then connection number),
// and the reading thread merges the shards' sorted lists batch by batch. At the end of input the
// reading thread ends the shards' remaining connections itself, oldest first across the tables
// (FlowTracker.finish).

/// The key that orders the shards' events as one table would emit them.
struct EventKey: Comparable {
    /// The position of the packet.
    var ordinal: UInt64
    /// 0: a timer fired before the packet; 1: the packet itself.
    var phase: UInt8
    /// The timer's due time (phase 0).
    var time: Int64
    /// The connection's number (phase 0).
    var serial: UInt64

    static func < (a: EventKey, b: EventKey) -> Bool {
        (a.ordinal, a.phase, a.time, a.serial) < (b.ordinal, b.phase, b.time, b.serial)
    }
}

/// What one shard made of one batch: its events' outputs in its order, with their keys.
/// Written by its shard's thread, then read by the reading thread once the shard has
/// released the batch (``ShardWorker/done``).
final class ShardOutput<Output: Sendable>: @unchecked Sendable {
    var keys: [EventKey] = []
    var values: [Output] = []
    /// Bytes the outputs refer to (rows rendered on the shard's thread).
    var bytes: [UInt8] = []

    @inline(__always)
    func append(_ key: EventKey, _ value: Output) {
        keys.append(key)
        values.append(value)
    }
}

/// Decoded packets handed from the reading thread to every shard. Filled by the reading
/// thread (as a ``BatchBuilder``, swapped in whole), published (``DispatchState/published``,
/// release), read by the shards, and reused by the reading thread only after every shard
/// released it (``ShardWorker/done``, acquire).
final class PacketBatch: @unchecked Sendable {
    var packets: [DecodedPacket] = []
    var times: [Int64] = []
    /// The shard of each packet.
    var owners: [UInt8] = []
    /// The tunnels of the tunnelled packets, by index (rare).
    var tunnels: [(index: Int, stack: TunnelStack)] = []
    var firstOrdinal: UInt64 = 0
    /// Whether the shards stop after these packets.
    var last = false
}

/// The batch being filled, owned by the reading thread: plain arrays, so that adding a
/// packet costs no reference counting and no exclusivity check.
struct BatchBuilder {
    static var capacity: Int { 256 }
    var packets: [DecodedPacket] = []
    var times: [Int64] = []
    var owners: [UInt8] = []
    var tunnels: [(index: Int, stack: TunnelStack)] = []
    var firstOrdinal: UInt64 = 0

    init(firstOrdinal: UInt64) {
        self.firstOrdinal = firstOrdinal
        packets.reserveCapacity(Self.capacity)
        times.reserveCapacity(Self.capacity)
        owners.reserveCapacity(Self.capacity)
    }

    /// Hands the packets to `batch` and takes its old (released) arrays, emptied, for the next.
    mutating func move(into batch: PacketBatch, last: Bool) {
        swap(&packets, &batch.packets)
        swap(&times, &batch.times)
        swap(&owners, &batch.owners)
        swap(&tunnels, &batch.tunnels)
        batch.firstOrdinal = firstOrdinal
        batch.last = last
        firstOrdinal += UInt64(batch.packets.count)
        packets.removeAll(keepingCapacity: true)
        times.removeAll(keepingCapacity: true)
        owners.removeAll(keepingCapacity: true)
        tunnels.removeAll(keepingCapacity: true)
    }
}

/// One shard: a connection table and the thread that feeds it.
final class ShardWorker<Output: Sendable>: @unchecked Sendable {
    /// Owned by the shard's thread while a run lasts; by the caller before and after.
    var table: ConnectionTable
    let index: UInt8
    /// Signalled once per published batch.
    let ready = DispatchSemaphore(value: 0)
    /// Batches this shard has finished (release: its outputs and table are written).
    let done = Atomic<Int>(0)
    /// What this shard made of each batch slot.
    let outputs: [ShardOutput<Output>]

    init(table: ConnectionTable, index: Int, depth: Int) {
        self.table = table
        self.index = UInt8(index)
        outputs = (0..<depth).map { _ in ShardOutput() }
    }

    /// The shard's loop: every batch in order until the one that says stop.
    func work(_ state: DispatchState, render: @Sendable (ConnectionEvent, inout [UInt8]) -> Output?) {
        var next = 0
        // The table is worked on as a local (no exclusivity check per access), swapped out
        // and back in so that neither copy is shared (no copy-on-write of the whole table).
        var table = ConnectionTable(configuration: self.table.configuration)
        swap(&table, &self.table)
        while true {
            // Woken once per few batches (``PacketDispatcher/signalEvery``): every batch
            // published by then is worked through.
            ready.wait()
            let available = state.published.load(ordering: .acquiring)
            while next < available {
                let slot = next % state.batches.count
                let batch = state.batches[slot]
                let out = outputs[slot]
                let last = batch.last
                Self.process(batch, shard: index, table: &table, into: out, render)
                next += 1
                if last { swap(&table, &self.table) }
                done.store(next, ordering: .releasing)
                state.progress.signal()
                if last { return }
            }
        }
    }

    /// Tracks the shard's packets of `batch` and advances its timers at every other packet.
    @inline(__always)
    static func process(_ batch: PacketBatch, shard: UInt8, table: inout ConnectionTable, into out: ShardOutput<Output>,
                        _ render: (ConnectionEvent, inout [UInt8]) -> Output?) {
        // Local references: indexing them costs no exclusivity check.
        let packets = batch.packets, times = batch.times, owners = batch.owners, tunnels = batch.tunnels
        let first = batch.firstOrdinal
        var tunnelIndex = 0
        for i in 0..<packets.count {
            let ordinal = first + UInt64(i)
            let time = Timestamp(nanoseconds: times[i])
            table.advance(to: time) { due, event in
                if let value = render(event, &out.bytes) {
                    out.append(EventKey(ordinal: ordinal, phase: 0, time: due, serial: event.connection.id), value)
                }
            }
            guard owners[i] == shard else { continue }
            table.begin(ordinal: ordinal)
            let key = EventKey(ordinal: ordinal, phase: 1, time: 0, serial: 0)
            // (The closures are written out at each call: one kept in a local would be allocated
            // for every packet.)
            if packets[i].tunnelDepth > 0 {
                while tunnelIndex < tunnels.count, tunnels[tunnelIndex].index < i { tunnelIndex += 1 }
                if tunnelIndex < tunnels.count, tunnels[tunnelIndex].index == i {
                    table.process(packets[i], tunnels: tunnels[tunnelIndex].stack, at: time) { event in
                        if let value = render(event, &out.bytes) { out.append(key, value) }
                    }
                    continue
                }
            }
            table.process(packets[i], at: time) { event in
                if let value = render(event, &out.bytes) { out.append(key, value) }
            }
        }
    }
}

/// What the shards' threads share with the reading thread.
final class DispatchState: Sendable {
    let batches: [PacketBatch]
    /// Batches published (release: their packets are written).
    let published = Atomic<Int>(0)
    /// Signalled by a shard each time it finishes a batch.
    let progress = DispatchSemaphore(value: 0)

    init(depth: Int) {
        batches = (0..<depth).map { _ in PacketBatch() }
    }
}

extension PacketDispatcher: FrameSink {
    @inline(__always)
    mutating func accept(_ intake: inout FrameIntake, at time: Timestamp, _ statistics: inout PacketStatistics) {
        intake.dispatch(to: &self, at: time, &statistics)
    }
}

/// Where the reading loops hand each decoded packet: a connection table on the reading
/// thread, or the shards' dispatcher.
protocol FrameSink {
    /// Takes the intake's packet (and subframes) read at `time`.
    mutating func accept(_ intake: inout FrameIntake, at time: Timestamp, _ statistics: inout PacketStatistics)
    /// Hands over everything taken so far (called before a failure is reported).
    mutating func settle()
}

/// One thread: packets tracked as they are read.
struct TableSink: FrameSink {
    var tracker: ConnectionTable
    let handler: (ConnectionEvent) -> Void

    @inline(__always)
    mutating func accept(_ intake: inout FrameIntake, at time: Timestamp, _ statistics: inout PacketStatistics) {
        intake.track(&tracker, at: time, &statistics, handler)
    }

    func settle() {}
}

/// The reading thread's side of a run with several shards: fills batches and publishes
/// them. Not generic (the per-packet path is the same code whatever the output); merging
/// the shards' outputs, once per batch, goes through ``ShardedRun``'s closures.
package struct PacketDispatcher {
    let state: DispatchState
    let shardCount: Int
    var builder: BatchBuilder
    /// Batches published, merged, and announced to the shards, so far.
    var filling = 0
    var merged = 0
    var signalled = 0
    let signalShards: () -> Void
    let isDone: (Int) -> Bool
    let merge: (Int) -> Void

    /// Batches in flight.
    static var depth: Int { 16 }
    /// Batches published between two wake-ups of the shards.
    static var signalEvery: Int { 8 }

    /// The shard of a packet: a symmetric hash, so that both directions of a connection meet
    /// in one table. TCP hashes its 5-tuple. A tunnelled packet hashes the outermost address
    /// pair, and so does every other packet (UDP included: Teredo and AYIYA are recognised on
    /// any port, so any UDP flow may carry a tunnel), so that a tunnel's carrying connection,
    /// what it carries (whichever source port each direction uses, as VXLAN's vary) and the
    /// tunnel's own state stay in one table. The one case this cannot keep together: an inner
    /// connection that moves between tunnels, or in and out of one (Docs/Design.md).
    @inline(__always)
    static func shard(of p: DecodedPacket, tunnels: TunnelStack?, count: Int) -> UInt8 {
        let a: IPAddress, b: IPAddress
        var ports: UInt64 = 0
        if let tunnels, tunnels.count > 0 {
            a = tunnels[0].source; b = tunnels[0].destination
        } else {
            guard p.ipVersion != 0 else { return 0 }
            a = p.source; b = p.destination
            if p.ipProtocol.rawValue == 6 {
                ports = (UInt64(p.sourcePort ^ p.destinationPort) | UInt64(p.sourcePort & p.destinationPort) << 16) << 8 | 6
            }
        }
        // + and ^ are symmetric: both directions hash alike.
        let h = mix((mix(a.high ^ a.low) &+ mix(b.high ^ b.low)) ^ ports)
        return UInt8(truncatingIfNeeded: Int(h >> 33) % count)
    }

    @inline(__always)
    static func mix(_ x: UInt64) -> UInt64 {
        var z = x &+ 0x9E37_79B9_7F4A_7C15
        z = (z ^ (z >> 30)) &* 0xBF58_476D_1CE4_E5B9
        z = (z ^ (z >> 27)) &* 0x94D0_49BB_1331_11EB
        return z ^ (z >> 31)
    }

    /// Adds one packet (with its tunnels) to the batch being filled, publishing it when full.
    /// `owner` overrides the shard (`UInt8.max`: none, a clock tick every shard advances to).
    @inline(__always)
    package mutating func add(_ p: DecodedPacket, tunnels: TunnelStack?, at time: Int64, ordinal: UInt64, owner: UInt8? = nil) {
        if builder.packets.count == BatchBuilder.capacity { publish(last: false) }
        assert(ordinal == builder.firstOrdinal + UInt64(builder.packets.count), "packets are numbered in order")
        if let tunnels { builder.tunnels.append((builder.packets.count, tunnels)) }
        builder.owners.append(owner ?? Self.shard(of: p, tunnels: tunnels, count: shardCount))
        builder.times.append(time)
        builder.packets.append(p)
    }

    /// Publishes the batch being filled (and whether the shards stop after it), merges the
    /// batches the shards have finished, and makes sure the next slot is free.
    mutating func publish(last: Bool) {
        builder.move(into: state.batches[filling % Self.depth], last: last)
        filling += 1
        state.published.store(filling, ordering: .releasing)
        // Waking the shards for every batch costs a context switch each, which on a busy
        // machine takes the core from this thread (the pipeline's slowest stage): they are
        // woken every few batches, and whenever this thread is about to wait for them.
        if last || filling - signalled >= Self.signalEvery { wakeShards() }
        while merged < filling, isDone(merged) { merge(merged); merged += 1 }
        while filling - merged >= Self.depth { waitAndMerge() }
    }

    /// Wakes the shards for every batch published so far.
    mutating func wakeShards() {
        guard signalled < filling else { return }
        signalled = filling
        signalShards()
    }

    /// Waits for the oldest unmerged batch and merges it.
    mutating func waitAndMerge() {
        wakeShards()
        while !isDone(merged) { state.progress.wait() }
        merge(merged)
        merged += 1
    }

    /// A clock tick: every shard advances its timers to `time` (a live capture's silence).
    mutating func tick(at time: Int64, ordinal: UInt64) {
        add(DecodedPacket(), tunnels: nil, at: time, ordinal: ordinal, owner: .max)
    }

    /// Publishes what has been read and wakes the shards, without waiting for them; what
    /// they have finished is merged (a live capture's regular hand-over).
    mutating func handOver() {
        if !builder.packets.isEmpty { publish(last: false) }
        wakeShards()
        while merged < filling, isDone(merged) { merge(merged); merged += 1 }
    }

    /// Hands over everything read so far (before a failure is reported, so that it comes
    /// after the events of the packets before it, as on one thread).
    mutating func settle() {
        if !builder.packets.isEmpty { publish(last: false) }
        while merged < filling { waitAndMerge() }
    }

    /// Publishes what is left, tells the shards to stop, and merges everything.
    mutating func drain() {
        publish(last: true)
        while merged < filling { waitAndMerge() }
    }
}

/// A run with several shards: their threads, and the merging of their outputs in
/// one-thread order.
final class ShardedRun<Output: Sendable> {
    let workers: [ShardWorker<Output>]
    let group = DispatchGroup()
    /// Receives the outputs in order (on the reading thread), with the bytes they refer to.
    let consume: (Output, borrowing [UInt8]) -> Void
    var heads: [Int]

    /// Starts one thread per table.
    init(tables: [ConnectionTable], state: DispatchState, render: @escaping @Sendable (ConnectionEvent, inout [UInt8]) -> Output?,
         consume: @escaping (Output, borrowing [UInt8]) -> Void) {
        workers = tables.enumerated().map { ShardWorker(table: $1, index: $0, depth: state.batches.count) }
        self.consume = consume
        heads = [Int](repeating: 0, count: tables.count)
        for worker in workers {
            DispatchQueue(label: "flowtrack.shard.\(worker.index)").async(group: group) {
                worker.work(state, render: render)
            }
        }
    }

    /// The reading thread's dispatcher for this run.
    func dispatcher(state: DispatchState, firstOrdinal: UInt64) -> PacketDispatcher {
        let workers = self.workers
        return PacketDispatcher(state: state, shardCount: workers.count, builder: BatchBuilder(firstOrdinal: firstOrdinal + 1),
                                signalShards: { for worker in workers { worker.ready.signal() } },
                                isDone: { number in workers.allSatisfy { $0.done.load(ordering: .acquiring) > number } },
                                merge: { [unowned self] number in self.merge(number % state.batches.count) })
    }

    /// Hands one batch slot's events to ``consume`` in one-thread order and empties the outputs.
    func merge(_ slot: Int) {
        var nonEmpty = 0, only = 0
        for (i, worker) in workers.enumerated() where !worker.outputs[slot].keys.isEmpty { nonEmpty += 1; only = i }
        if nonEmpty == 1 {
            let out = workers[only].outputs[slot]
            for value in out.values { consume(value, out.bytes) }
        } else if nonEmpty > 1 {
            let outputs = workers.map { $0.outputs[slot] }
            for i in heads.indices { heads[i] = 0 }
            while true {
                var best = -1
                for (i, out) in outputs.enumerated() where heads[i] < out.keys.count {
                    if best < 0 || out.keys[heads[i]] < outputs[best].keys[heads[best]] { best = i }
                }
                if best < 0 { break }
                consume(outputs[best].values[heads[best]], outputs[best].bytes)
                heads[best] += 1
            }
        }
        for worker in workers where !worker.outputs[slot].keys.isEmpty {
            worker.outputs[slot].keys.removeAll(keepingCapacity: true)
            worker.outputs[slot].values.removeAll(keepingCapacity: true)
            worker.outputs[slot].bytes.removeAll(keepingCapacity: true)
        }
    }

    /// Waits for the threads (after the last batch) and returns the tables.
    func finish() -> [ConnectionTable] {
        group.wait()
        return workers.map(\.table)
    }
}

/// Connection tracking on several threads for programs that decode packets themselves (the
/// counterpart of `ConnectionTable.process(_:at:_:)`): the calling thread hands each
/// decoded packet over; `threads` − 1 threads track, each its share of the connections by a
/// symmetric hash; the handler receives the events on the calling thread, in the order and
/// with the uids one `ConnectionTable` would give (a little later: batches of 256 packets go
/// over at a time).
///
/// ```swift
/// var configuration = TrackerConfiguration()
/// configuration.threads = 3                          // 2 tracking threads
/// let tracker = ShardedTracker(configuration: configuration) { event in print(event.connection) }
/// var file = try PcapFile(path: "trace.pcap")
/// let decoder = try PacketDecoder(linkType: file.linkType)
/// var packet = DecodedPacket()
/// while let time = try file.next({ meta, bytes in
///     decoder.decode(bytes, wireLength: meta.wireLength, into: &packet)
///     return meta.timestamp
/// }) {
///     tracker.process(packet, at: time)              // in capture order
/// }
/// let statistics = tracker.finish()                  // ends the rest, stops the threads
/// print(statistics.connections)
/// ```
public final class ShardedTracker {
    let run: ShardedRun<ConnectionEvent>
    var dispatcher: PacketDispatcher
    var ordinal: UInt64 = 0
    var finished = false

    /// Starts `configuration.threads` − 1 tracking threads (at least one).
    public init(configuration: TrackerConfiguration, handler: @escaping (ConnectionEvent) -> Void) {
        let state = DispatchState(depth: PacketDispatcher.depth)
        run = ShardedRun(tables: FlowTracker.shardTables(configuration), state: state,
                         render: { event, _ in event }, consume: { event, _ in handler(event) })
        dispatcher = run.dispatcher(state: state, firstOrdinal: 0)
    }

    /// Hands one decoded packet (with its tunnels, for a tunnelled one) over for tracking.
    public func process(_ packet: DecodedPacket, tunnels: TunnelStack? = nil, at time: Timestamp) {
        precondition(!finished, "process(_:tunnels:at:) after finish()")
        ordinal += 1
        dispatcher.add(packet, tunnels: packet.tunnelDepth > 0 ? tunnels : nil, at: time.nanoseconds, ordinal: ordinal)
    }

    /// Tracks everything handed over, ends the connections still open (reason
    /// `endOfInput`), stops the threads and returns what they counted.
    @discardableResult
    public func finish() -> TrackerStatistics {
        precondition(!finished, "finish() called twice")
        finished = true
        dispatcher.drain()
        var tables = run.finish()
        FlowTracker.endRemaining(&tables) { run.consume($0, []) }
        var statistics = TrackerStatistics()
        for table in tables { statistics.merge(table.statistics) }
        return statistics
    }

    deinit {
        if !finished { finish() }
    }
}
