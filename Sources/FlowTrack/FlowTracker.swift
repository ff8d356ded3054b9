import Synchronization

/// A request to stop a live capture, safe to raise from any thread or signal handler.
public final class CaptureStop: Sendable {
    let flag = Atomic<Bool>(false)
    /// A request not raised yet.
    public init() {}
    /// Asks the capture to stop (it does within 100 ms).
    public func stop() { flag.store(true, ordering: .relaxed) }
    /// Whether a stop was asked for.
    public var isStopped: Bool { flag.load(ordering: .relaxed) }
}

/// The pipeline users import: capture files → decoder → connection tracker → events.
///
/// ```swift
/// var tracker = FlowTracker()
/// try tracker.run(file: "trace.pcap") { event in
///     if case let .ended(c) = event { print(c.originator, "→", c.responder, c.connState, c.history) }
/// }
/// tracker.finish { event in print(event.connection) }   // still open at the end of input
/// ```
///
/// The synchronous handler is the fast path (called on the reading thread, in
/// packet order); `events(files:)` offers the same events
/// as an `AsyncSequence`.
public struct FlowTracker {
    /// The tracker's configuration (timeouts, checksums, limits).
    public let configuration: TrackerConfiguration
    /// The connection table the packets go to (its timers, tunnels and counters).
    public internal(set) var tracker: ConnectionTable
    /// Decoder totals (link types, protocols, malformed reasons).
    var packetStatistics = PacketStatistics()
    /// IP fragments held until their datagrams complete (``TrackerConfiguration/reassembleFragments``).
    var reassembler = IPReassembler()
    /// The position of the last packet tracked (`ConnectionTable.begin(ordinal:)`).
    var ordinal: UInt64 = 0
    /// The connection tables of a run with several threads, between runs (else empty).
    var shards: [ConnectionTable] = []


    /// Creates a pipeline.
    public init(configuration: TrackerConfiguration = TrackerConfiguration()) {
        self.configuration = configuration
        tracker = ConnectionTable(configuration: configuration)
    }

    /// Everything the runs so far counted, in one place: packets as decoded, connections
    /// as tracked, and IP fragment reassembly.
    public var statistics: RunStatistics {
        var connections = tracker.statistics
        for shard in shards { connections.merge(shard.statistics) }
        return RunStatistics(packets: packetStatistics, connections: connections, fragments: reassembler.statistics)
    }

    /// The tunnel.log lines recorded since the last call (with `TrackerConfiguration.tunnelLog`).
    public mutating func takeTunnelRecords() -> [TunnelRecord] { tracker.takeTunnelRecords() }

    /// Reads every packet of a capture file (`-` for standard input) into the tracker.
    ///
    /// Connections that end while reading are reported to `handler`; call
    /// ``finish(_:)`` after the last file for the rest.
    /// - Throws: `CaptureError` for a file that cannot be opened or is damaged
    ///   (every complete packet before the damage has been processed), or whose
    ///   link type cannot be decoded.
    /// - Parameters:
    ///   - path: the capture file (pcap or pcapng), or `-` for standard input.
    ///   - filter: a BPF filter expression (pcap-filter(7)) applied before decoding.
    ///   - progress: called every 16 384 packets with the packets and file bytes read so far.
    ///   - stop: checked every 1024 packets; once raised (from any thread, or from `handler`),
    ///     the reading ends there and the method returns.
    ///   - handler: receives the connection events, in packet order.
    public mutating func run(file path: String, filter: String? = nil, progress: ((_ packets: Int, _ bytes: Int) -> Void)? = nil,
                             stop: CaptureStop? = nil, _ handler: (ConnectionEvent) -> Void) throws(CaptureError) {
        if configuration.threads > 1 {
            var failed: CaptureError?
            runSharded(files: [path], filter: filter, progress: progress, stop: stop, failure: { _, error in failed = error },
                       render: { event, _ in event }, { event, _ in handler(event) })
            if let failed { throw failed }
            return
        }
        try withoutActuallyEscaping(handler) { (handler) throws(CaptureError) in
            var sink = TableSink(tracker: tracker, handler: handler)
            tracker = ConnectionTable(configuration: configuration)  // (not shared: no copy of the table on write)
            defer { tracker = sink.tracker }
            try readFile(path, filter: filter, progress: progress, stop: stop, into: &sink)
        }
    }

    /// The reading loop of one file: each packet decoded (and reassembled) by a
    /// ``FrameIntake`` and handed to `accept`, which tracks or dispatches it.
    @inline(__always)
    mutating func readFile<Sink: FrameSink>(_ path: String, filter: String?, progress: ((_ packets: Int, _ bytes: Int) -> Void)?,
                                            stop: CaptureStop?, into sink: inout Sink) throws(CaptureError) {
        var file = try PcapFile(path: path, filter: filter)
        let linkType = file.linkType
        let decoder = try file.decoder(verifyChecksums: configuration.verifyChecksums)
        var intake = FrameIntake(configuration: configuration, reassembler: reassembler, ordinal: ordinal)
        var time = Timestamp(nanoseconds: 0)
        var stats = packetStatistics
        var count = 0
        defer {
            stats.addLinkType(linkType, packets: count)
            packetStatistics = stats
            reassembler = intake.reassembler
            ordinal = intake.ordinal
        }
        while true {
            guard let ready = try file.next({ meta, bytes in
                time = meta.timestamp
                return intake.take(bytes, meta, with: decoder)
            }) else { break }
            count += 1
            if ready { sink.accept(&intake, at: time, &stats) } else { intake.held(&stats) }
            if count & 0x3FF == 0 {
                if let progress, count & 0x3FFF == 0 { progress(count, file.bytesRead) }
                if let stop, stop.isStopped { break }
            }
        }
    }

    /// Reads several capture files as one capture, merged by timestamp the way
    /// `mergecap` merges them (a streaming k-way merge: one packet per file in memory),
    /// so connections that span the files are tracked as one and timers fire at the
    /// right packets whatever the order of `paths`. One file reads as `run(file:)` does.
    ///
    /// A file that cannot be opened, whose link type cannot be decoded, or that is
    /// damaged is reported to `failure` with its path and left out; the others go on.
    /// Call ``finish(_:)`` after the last call.
    /// - Parameters:
    ///   - paths: the capture files, read as one capture.
    ///   - filter: a BPF filter expression (pcap-filter(7)) applied to each file.
    ///   - progress: called every 16 384 packets with the packets and file bytes read so far.
    ///   - stop: checked every 1024 packets and after each failure; once raised (from any
    ///     thread, `failure` or `handler`), the reading ends there and the method returns.
    ///   - failure: receives each file that cannot be read, with its error.
    ///   - handler: receives the connection events, in packet order.
    public mutating func run(files paths: [String], filter: String? = nil,
                             progress: ((_ packets: Int, _ bytes: Int) -> Void)? = nil,
                             stop: CaptureStop? = nil,
                             failure: (_ path: String, _ error: CaptureError) -> Void,
                             _ handler: (ConnectionEvent) -> Void) {
        if configuration.threads > 1 {
            return runSharded(files: paths, filter: filter, progress: progress, stop: stop, failure: failure,
                              render: { event, _ in event }, { event, _ in handler(event) })
        }
        withoutActuallyEscaping(handler) { handler in
            var sink = TableSink(tracker: tracker, handler: handler)
            tracker = ConnectionTable(configuration: configuration)  // (not shared: no copy of the table on write)
            defer { tracker = sink.tracker }
            readFiles(paths, filter: filter, progress: progress, stop: stop, failure: failure, into: &sink)
        }
    }

    /// Reads `paths` as ``run(files:filter:progress:stop:failure:_:)`` does, with the
    /// connection events turned into `Output` on the threads that track them (a row
    /// formatted, say, or `nil` to leave an event out) and handed to `consume` on the calling
    /// thread in packet order, as one thread would give them.
    ///
    /// With `TrackerConfiguration.threads` at 1 everything happens on the calling thread.
    /// `finishing` ends the connections still open at the end (reason `endOfInput`) as
    /// ``finish(_:)`` would.
    public mutating func run<Output: Sendable>(files paths: [String], filter: String? = nil,
                                               progress: ((_ packets: Int, _ bytes: Int) -> Void)? = nil,
                                               stop: CaptureStop? = nil, finishing: Bool = false,
                                               failure: (_ path: String, _ error: CaptureError) -> Void,
                                               transform: @escaping @Sendable (ConnectionEvent) -> Output?,
                                               _ consume: (Output) -> Void) {
        run(files: paths, filter: filter, progress: progress, stop: stop, finishing: finishing, failure: failure,
            render: { event, _ in transform(event) }, { value, _ in consume(value) })
    }

    /// The form of ``run(files:filter:progress:stop:finishing:failure:transform:_:)`` whose
    /// `render` may also write bytes (a formatted row) into a buffer of its tracking thread,
    /// handed to `consume` with the output (so that rows cost no allocation each): the
    /// buffer holds a batch's bytes and is emptied after them.
    package mutating func run<Output: Sendable>(files paths: [String], filter: String? = nil,
                                                progress: ((_ packets: Int, _ bytes: Int) -> Void)? = nil,
                                                stop: CaptureStop? = nil, finishing: Bool = false,
                                                failure: (_ path: String, _ error: CaptureError) -> Void,
                                                render: @escaping @Sendable (ConnectionEvent, inout [UInt8]) -> Output?,
                                                _ consume: (Output, borrowing [UInt8]) -> Void) {
        withoutActuallyEscaping(consume) { consume in
            var scratch: [UInt8] = []
            // On the calling thread: one event at a time through a reused buffer.
            let handler = { (event: ConnectionEvent) in
                if let value = render(event, &scratch) { consume(value, scratch) }
                scratch.removeAll(keepingCapacity: true)
            }
            if configuration.threads > 1 {
                if Self.shardCount(threads: configuration.threads) == 1 {
                    // One tracking thread: it is the busier of the two when connections are many
                    // (a row per packet or two), so the rows are rendered here, on the reading thread.
                    runSharded(files: paths, filter: filter, progress: progress, stop: stop, failure: failure,
                               render: { event, _ in event }, { event, _ in handler(event) })
                } else {
                    runSharded(files: paths, filter: filter, progress: progress, stop: stop, failure: failure, render: render, consume)
                }
                // The remaining connections end on this thread, one at a time, in one-thread order.
                if finishing { finish(handler) }
                return
            }
            run(files: paths, filter: filter, progress: progress, stop: stop, failure: failure, handler)
            if finishing { finish(handler) }
        }
    }

    /// The reading loop of several files merged by time (one file: ``readFile``).
    @inline(__always)
    mutating func readFiles<Sink: FrameSink>(_ paths: [String], filter: String?, progress: ((_ packets: Int, _ bytes: Int) -> Void)?,
                                             stop: CaptureStop?, failure: (_ path: String, _ error: CaptureError) -> Void,
                                             into sink: inout Sink) {
        if paths.count == 1 {
            do throws(CaptureError) {
                try readFile(paths[0], filter: filter, progress: progress, stop: stop, into: &sink)
            } catch {
                sink.settle()
                failure(paths[0], error)
            }
            return
        }
        var merge = PcapMerge(paths: paths, filter: filter)
        var decoders: [PacketDecoder?] = merge.linkTypes.map { type in
            type.flatMap { try? PacketDecoder(linkType: $0, verifyChecksums: configuration.verifyChecksums) }
        }
        var counts = Array(repeating: 0, count: paths.count)
        var intake = FrameIntake(configuration: configuration, reassembler: reassembler, ordinal: ordinal)
        var time = Timestamp(nanoseconds: 0)
        var stats = packetStatistics
        var count = 0
        defer {
            for (i, n) in counts.enumerated() where n > 0 { if let type = merge.linkTypes[i] { stats.addLinkType(type, packets: n) } }
            packetStatistics = stats
            reassembler = intake.reassembler
            ordinal = intake.ordinal
        }
        for (i, decoder) in decoders.enumerated() where decoder == nil {
            guard let type = merge.linkTypes[i] else { continue }
            sink.settle()
            failure(paths[i], .unsupportedLinkType(linkType: type, name: linkTypeName(type.rawValue)))
            if let stop, stop.isStopped { return }
        }
        while true {
            let taken: (source: Int, ready: Bool)?
            do throws(PcapMerge.SourceError) {
                taken = try merge.next { source, meta, bytes in
                    guard let decoder = decoders[source] else { return (-1, false) }
                    time = meta.timestamp
                    return (source, intake.take(bytes, meta, with: decoder))
                }
            } catch {
                sink.settle()
                failure(paths[error.source], error.error)
                decoders[error.source] = nil
                if let stop, stop.isStopped { break }
                continue
            }
            guard let taken else { break }
            guard taken.source >= 0 else { continue }
            count += 1
            counts[taken.source] += 1
            if taken.ready { sink.accept(&intake, at: time, &stats) } else { intake.held(&stats) }
            if count & 0x3FF == 0 {
                if let progress, count & 0x3FFF == 0 { progress(count, merge.bytesRead) }
                if let stop, stop.isStopped { break }
            }
        }
    }

    /// The tracking tables for `threads` threads in all: the reading thread decodes, the
    /// others track (one table each).
    static func shardCount(threads: Int) -> Int { max(1, threads - 1) }

    /// Empty tracking tables for `configuration.threads` threads in all.
    static func shardTables(_ configuration: TrackerConfiguration) -> [ConnectionTable] {
        var each = configuration
        // The flow limit is shared out: with it reached, which connection a shard evicts
        // depends on the shard layout (the one thing that does).
        let count = shardCount(threads: configuration.threads)
        each.maxFlows = max(1, (configuration.maxFlows + count - 1) / count)
        return (0..<count).map { _ in ConnectionTable(configuration: each) }
    }

    /// The tables of a run with several threads (made at the first run).
    mutating func takeShards() -> [ConnectionTable] {
        if shards.isEmpty { shards = Self.shardTables(configuration) }
        defer { shards = [] }
        return shards
    }

    /// Reads `paths` with the decoding on the calling thread and the tracking on
    /// `TrackerConfiguration.threads` shards (see ShardedRun.swift).
    mutating func runSharded<Output: Sendable>(files paths: [String], filter: String?,
                                               progress: ((_ packets: Int, _ bytes: Int) -> Void)?, stop: CaptureStop?,
                                               failure: (_ path: String, _ error: CaptureError) -> Void,
                                               render: @escaping @Sendable (ConnectionEvent, inout [UInt8]) -> Output?,
                                               _ consume: (Output, borrowing [UInt8]) -> Void) {
        withoutActuallyEscaping(consume) { consume in
            let state = DispatchState(depth: PacketDispatcher.depth)
            let run = ShardedRun(tables: takeShards(), state: state, render: render, consume: consume)
            var dispatcher = run.dispatcher(state: state, firstOrdinal: ordinal)
            readFiles(paths, filter: filter, progress: progress, stop: stop, failure: failure, into: &dispatcher)
            dispatcher.drain()
            shards = run.finish()
        }
    }

    /// Tracks a live capture until `shouldStop` says so or `maxPackets` have been read.
    ///
    /// While the wire is silent the tracker's timers are driven by the clock, so idle
    /// connections end on time. `each` is called after every packet and every idle
    /// wait (at most every 100 ms), for periodic displays; `packet` sees every raw
    /// packet (to write it to a file). Call ``finish(_:)`` afterwards.
    /// - Throws: `LiveCaptureError` if reading fails.
    public mutating func run(live capture: inout LiveCapture, maxPackets: Int? = nil, until shouldStop: () -> Bool,
                             packet: ((PacketMetadata, Span<UInt8>) -> Void)? = nil,
                             each: (inout FlowTracker) -> Void = { _ in },
                             _ handler: (ConnectionEvent) -> Void) throws(LiveCaptureError) {
        let linkType = capture.linkType
        guard let decoder = try? PacketDecoder(linkType: linkType, verifyChecksums: configuration.verifyChecksums) else {
            throw .activationFailed(interface: capture.interface, message: "link type \(linkType) is not one FlowTrack decodes")
        }
        if configuration.threads > 1 {
            return try runShardedLive(&capture, decoder: decoder, maxPackets: maxPackets, until: shouldStop, packet: packet,
                                      each: each, handler)
        }
        var intake = FrameIntake(configuration: configuration, reassembler: reassembler)
        defer { reassembler = intake.reassembler }
        var count = 0
        while !shouldStop(), maxPackets.map({ count < $0 }) ?? true {
            let taken = try capture.next(waiting: 100) { meta, bytes in
                let ready = intake.take(bytes, meta, with: decoder)
                packet?(meta, bytes)
                return (meta, ready)
            }
            if let (meta, ready) = taken {
                count += 1
                if ready { intake.track(&tracker, at: meta.timestamp, &packetStatistics, handler) } else { intake.held(&packetStatistics) }
            } else {
                tracker.advance(to: WallClock.now, handler)
            }
            each(&self)
        }
        packetStatistics.addLinkType(linkType, packets: count)
    }

    /// ``run(live:maxPackets:until:packet:each:_:)`` with the tracking on
    /// `TrackerConfiguration.threads` − 1 shards: what has been read is handed to them at
    /// least every 100 ms, and idle clock ticks reach them as well, so events come out within
    /// about 200 ms. `each` sees the decoder's statistics but not the shards' tables.
    mutating func runShardedLive(_ capture: inout LiveCapture, decoder: PacketDecoder, maxPackets: Int?, until shouldStop: () -> Bool,
                                 packet: ((PacketMetadata, Span<UInt8>) -> Void)?, each: (inout FlowTracker) -> Void,
                                 _ handler: (ConnectionEvent) -> Void) throws(LiveCaptureError) {
        let linkType = capture.linkType
        try withoutActuallyEscaping(handler) { (handler) throws(LiveCaptureError) in
            let state = DispatchState(depth: PacketDispatcher.depth)
            let run = ShardedRun(tables: takeShards(), state: state, render: { event, _ in event }, consume: { event, _ in handler(event) })
            var dispatcher = run.dispatcher(state: state, firstOrdinal: ordinal)
            var intake = FrameIntake(configuration: configuration, reassembler: reassembler, ordinal: ordinal)
            var count = 0
            var handedOver = WallClock.now.nanoseconds
            defer {
                dispatcher.drain()
                shards = run.finish()
                reassembler = intake.reassembler
                ordinal = intake.ordinal
                packetStatistics.addLinkType(linkType, packets: count)
            }
            while !shouldStop(), maxPackets.map({ count < $0 }) ?? true {
                let taken = try capture.next(waiting: 100) { meta, bytes in
                    let ready = intake.take(bytes, meta, with: decoder)
                    packet?(meta, bytes)
                    return (meta, ready)
                }
                let now = WallClock.now
                if let (meta, ready) = taken {
                    count += 1
                    if ready { intake.dispatch(to: &dispatcher, at: meta.timestamp, &packetStatistics) } else { intake.held(&packetStatistics) }
                } else {
                    intake.ordinal += 1
                    dispatcher.tick(at: now.nanoseconds, ordinal: intake.ordinal)  // timers run on the clock while the wire is silent
                }
                if taken == nil || now.nanoseconds - handedOver >= 100_000_000 {
                    dispatcher.handOver()
                    handedOver = now.nanoseconds
                }
                each(&self)
            }
        }
    }

    /// The connections of a live capture as an asynchronous sequence of events.
    ///
    /// ``CaptureStop/stop()`` (from any task or a signal handler), leaving the loop or
    /// cancelling the consuming task stops the capture within 100 ms; the remaining
    /// connections then end (reason `endOfInput`) and the sequence finishes. Events are
    /// handed over after every packet that produced some (and on the idle clock tick), so
    /// a consumer sees them at once; while the consumer is slower than the wire, the
    /// buffer fills and the capture waits, and the kernel drops what its buffer cannot hold
    /// (`LiveCapture` statistics count it).
    /// - Throws: a `LiveCaptureError` (`for try await` lets `catch .permissionDenied`).
    public static func liveEvents(interface: String, filter: String? = nil, stop: CaptureStop = CaptureStop(),
                                  configuration: TrackerConfiguration = TrackerConfiguration())
        -> ConnectionEvents<LiveCaptureError> {
        ConnectionEvents { channel in
            var pipeline = FlowTracker(configuration: configuration)
            var batcher = EventBatcher(channel)
            let stopped = { stop.isStopped || channel.stop.isStopped }
            do throws(LiveCaptureError) {
                var capture = try LiveCapture(interface: interface, filter: filter)
                try pipeline.run(live: &capture, until: stopped, each: { _ in batcher.flush() }) { batcher.add($0) }
            } catch {
                return pipeline.close(into: &batcher, .failure(error))
            }
            pipeline.close(into: &batcher, .success(()))
        }
    }

    /// Ends every connection still open (reason `endOfInput`).
    public mutating func finish(_ handler: (ConnectionEvent) -> Void) {
        tracker.flush(handler)
        guard !shards.isEmpty else { return }
        Self.endRemaining(&shards, handler)
    }

    /// Ends the remaining connections of several tables (shards of one capture) oldest
    /// first across them, as one table would end them, one at a time (nothing collected).
    static func endRemaining(_ tables: inout [ConnectionTable], _ handler: (ConnectionEvent) -> Void) {
        let orders = tables.map { $0.remainingInAgeOrder() }
        var heads = [Int](repeating: 0, count: tables.count)
        while true {
            var best = -1
            for i in orders.indices where heads[i] < orders[i].count {
                if best < 0 || (orders[i][heads[i]].start, orders[i][heads[i]].serial)
                    < (orders[best][heads[best]].start, orders[best][heads[best]].serial) { best = i }
            }
            if best < 0 { break }
            tables[best].endAtEndOfInput(entry: orders[best][heads[best]].entry, handler)
            heads[best] += 1
        }
    }

    /// What an asynchronous reading of several files does when one of them cannot be read.
    public enum FileFailurePolicy: Sendable {
        /// Stop at the first failure: the connections read so far end (reason `endOfInput`)
        /// and the sequence throws the failure.
        case stop
        /// Report each failure (path and error, on the reading thread) and read the other files.
        case skipAndReport(@Sendable (_ path: String, _ error: CaptureError) -> Void)
    }

    /// The connections of `files` as an asynchronous sequence of events, ending
    /// with the connections still open at the end of input.
    ///
    /// The files are read as one capture (see ``run(files:filter:progress:stop:failure:_:)``)
    /// on a reading thread of the sequence's own, with backpressure: see ``ConnectionEvents``.
    /// Leaving the loop or cancelling the consuming task stops the reading.
    /// - Parameters:
    ///   - files: the capture files, read as one capture.
    ///   - filter: a BPF filter expression (pcap-filter(7)) applied to each file.
    ///   - configuration: the tracker's configuration (events wanted, timeouts, checksums…).
    ///   - onFailure: what a missing or damaged file does (by default, it ends the
    ///     sequence with its error, which `catch .fileNotFound` and the like can match).
    public static func events(files: [String], filter: String? = nil,
                              configuration: TrackerConfiguration = TrackerConfiguration(),
                              onFailure: FileFailurePolicy = .stop) -> ConnectionEvents<CaptureError> {
        ConnectionEvents { channel in
            var pipeline = FlowTracker(configuration: configuration)
            var batcher = EventBatcher(channel)
            let stop = channel.stop
            var first: CaptureError?
            pipeline.run(files: files, filter: filter, stop: stop, failure: { path, error in
                switch onFailure {
                case .stop:
                    if first == nil { first = error }
                    stop.stop()
                case let .skipAndReport(report):
                    report(path, error)
                }
            }) { batcher.add($0) }
            if channel.cancelled.load(ordering: .relaxed) {  // the consumer left
                return channel.finish(.success(()), packets: pipeline.packetStatistics.packets)
            }
            pipeline.close(into: &batcher, first.map { .failure($0) } ?? .success(()))
        }
    }

    /// Ends the connections still open into `batcher`, hands its last batch over and
    /// closes the channel with `result` (what an asynchronous reading does at its end).
    mutating func close<Failure: Error>(into batcher: inout EventBatcher<Failure>, _ result: Result<Void, Failure>) {
        finish { batcher.add($0) }
        batcher.flush()
        batcher.channel.finish(result, packets: packetStatistics.packets)
    }
}

/// What a ``FlowTracker`` counted, in one place.
public struct RunStatistics: Sendable {
    /// Packets as the decoder saw them: link types, IP versions and protocols, VLAN tags,
    /// malformed reasons, packets cut by the snapshot length, bad checksums.
    public var packets: PacketStatistics
    /// What the connection table did with them: packets tracked, connections created and
    /// ended, evictions, ignored packets and why, time going backwards.
    public var connections: TrackerStatistics
    /// IP fragment reassembly: datagrams completed, and fragments dropped and why.
    public var fragments: IPReassembler.Statistics

    /// The warnings the counts call for (for example most checksums bad, time going
    /// backwards), each with its fix; `checksumsIgnoredBy` names the switch that turns
    /// checksum verification off.
    public func warnings(checksumsIgnoredBy option: String) -> [String] {
        connections.warnings(checksumsIgnoredBy: option)
    }
}
