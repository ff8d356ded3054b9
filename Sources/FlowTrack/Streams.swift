/// The connection a stream handler serves, as its first packet showed it.
public struct StreamStart: Sendable, Hashable {
    /// The tracker's number of the connection (`Connection.id`).
    public let connectionID: UInt64
    /// The connection's uid (`Connection.uid`).
    public let uid: String
    /// The originator as the tracker oriented the connection at its first packet. A later
    /// flip (Zeek's `^h`, when the first packet seen was a SYN-ACK) does not turn the stream
    /// around: its `.original` direction stays this side's.
    public let originator: Endpoint
    /// The other side: its port is the one the handler was registered for.
    public let responder: Endpoint
    /// TCP or UDP.
    public let transport: TransportProtocol

    /// A connection as a stream handler sees it (for ``StreamDemultiplexer/segment(_:sequence:acknowledgment:flags:from:of:)``).
    public init(connectionID: UInt64, uid: String, originator: Endpoint, responder: Endpoint, transport: TransportProtocol) {
        self.connectionID = connectionID
        self.uid = uid
        self.originator = originator
        self.responder = responder
        self.transport = transport
    }
}

/// Why a stream ended.
public enum StreamEnd: Sendable, Hashable {
    /// Both directions sent their FIN and every byte before it was delivered (or reported
    /// as a gap).
    case closed
    /// A side sent a RST.
    case reset
    /// Its connection ended otherwise (a timeout, the end of input, reuse, eviction).
    case connectionEnded(EndReason)
    /// More out-of-order data waited behind a hole than the limits allow, and the handler
    /// was registered with ``StreamLimits/OverflowPolicy/dropStream``.
    case bufferOverflow
}

/// Receives one TCP connection's payload: each direction's bytes in sequence order, the
/// holes in it, and its end. A value per connection, made by the factory registered with
/// ``StreamDemultiplexer/register(port:overflow:_:)``.
public protocol StreamHandler {
    /// The next bytes of `direction`, in order, borrowed for the call (straight from the
    /// capture buffer when they arrived in order).
    mutating func receive(_ bytes: Span<UInt8>, from direction: Direction)
    /// `length` bytes of `direction` that were never captured: acknowledged by the peer but
    /// missing, still missing when the connection ended, or skipped on a buffer overflow.
    mutating func gap(_ length: Int, in direction: Direction)
    /// The stream is over; nothing more is delivered.
    mutating func end(_ reason: StreamEnd)
}

extension StreamHandler {
    /// Ignores holes.
    public mutating func gap(_ length: Int, in direction: Direction) {}
    /// Ignores the end.
    public mutating func end(_ reason: StreamEnd) {}
}

/// Bounds on the out-of-order data held for reassembly, and what to do beyond them.
public struct StreamLimits: Sendable, Hashable {
    /// What a direction does when holding another segment would pass a limit.
    public enum OverflowPolicy: Sendable, Hashable {
        /// Give up waiting: the hole becomes a gap, the held data is delivered, and the
        /// stream goes on (what tcpflow and Zeek do).
        case skipAhead
        /// End the connection's stream (``StreamEnd/bufferOverflow``); nothing more is
        /// delivered for it.
        case dropStream
    }

    /// Bytes held behind holes per direction (default 1 MiB).
    public var perDirection: Int
    /// Bytes held in all (default 64 MiB).
    public var total: Int

    /// Limits; the defaults hold 1 MiB per direction and 64 MiB in all.
    public init(perDirection: Int = 1 << 20, total: Int = 64 << 20) {
        self.perDirection = perDirection
        self.total = total
    }
}

/// What the reassembly did, in all.
public struct StreamStatistics: Sendable, Hashable {
    /// Streams started (TCP connections with a handler).
    public var streams = 0
    /// UDP datagrams delivered.
    public var datagrams = 0
    /// Bytes delivered in order, and of them the bytes first held out of order (copied).
    public var deliveredBytes = 0, heldThenDeliveredBytes = 0
    /// Bytes reported as gaps.
    public var gapBytes = 0
    /// Bytes held right now, and the most held at once.
    public var heldBytes = 0, peakHeldBytes = 0
    /// Overflows of the limits (each one skipped ahead or dropped a stream).
    public var overflows = 0
    /// Segments that overlapped held data with different bytes (the first data was kept,
    /// as Zeek's reassembler keeps it; Zeek's `rexmit_inconsistency`).
    public var inconsistentOverlaps = 0
    /// Segments carrying data after their direction's FIN (not delivered).
    public var dataAfterClose = 0
}

/// Routes payload by server port, as a listening socket receives its connections' bytes:
/// TCP streams reassembled per direction, UDP datagrams one at a time.
///
/// Register a factory of ``StreamHandler``s for a TCP port and a datagram handler for a UDP
/// port, then run a capture through it with ``FlowTracker/run(file:filter:streams:events:)``.
/// In-order data goes to the handler straight from the capture buffer; only segments that
/// arrive ahead of a hole are copied, within ``StreamLimits``. Connections to ports nobody
/// registered cost a lookup per packet and hold nothing.
///
/// Count the requests and the status codes of HTTP/1.x on port 80 (the first line of each
/// direction of each connection):
///
/// ```swift
/// struct FirstLines: StreamHandler {
///     var lines: [[UInt8]] = [[], []]
///     var done = [false, false]
///     mutating func receive(_ bytes: Span<UInt8>, from direction: Direction) {
///         let side = direction == .original ? 0 : 1
///         for i in bytes.indices where !done[side] {
///             if bytes[i] == UInt8(ascii: "\r") || bytes[i] == UInt8(ascii: "\n") { done[side] = true } else { lines[side].append(bytes[i]) }
///         }
///     }
///     mutating func end(_ reason: StreamEnd) {
///         let request = String(decoding: lines[0], as: UTF8.self).split(separator: " ").map(String.init)
///         let status = String(decoding: lines[1], as: UTF8.self).split(separator: " ").map(String.init)
///         print(request.first ?? "-", status.count > 1 ? status[1] : "-")   // GET 200
///     }
/// }
/// var streams = StreamDemultiplexer()
/// streams.register(port: 80) { _ in FirstLines() }
/// var tracker = FlowTracker()
/// try tracker.run(file: "trace.pcap", streams: &streams)
/// tracker.finish { streams.event($0) }     // the streams still open end too
/// print(streams.statistics.streams, "HTTP connections")
/// ```
///
/// The query name of each DNS message on port 53, one datagram at a time:
///
/// ```swift
/// var streams = StreamDemultiplexer()
/// streams.registerDatagrams(port: 53) { connection, direction, message in
///     var name: [String] = []
///     var i = 12                                      // after the header
///     while i < message.count, message[i] != 0, i + Int(message[i]) < message.count {
///         var label = ""
///         for j in (i + 1)...(i + Int(message[i])) { label.append(Character(UnicodeScalar(message[j]))) }
///         name.append(label)
///         i += Int(message[i]) + 1
///     }
///     print(connection.uid, direction, name.joined(separator: "."))
/// }
/// var tracker = FlowTracker()
/// try tracker.run(file: "dns.pcap", streams: &streams)
/// ```
public struct StreamDemultiplexer {
    struct Route {
        var factory: ((StreamStart) -> (any StreamHandler)?)?
        var datagrams: ((StreamStart, Direction, Span<UInt8>) -> Void)?
        var overflow: StreamLimits.OverflowPolicy
    }

    /// One connection's stream: a reference, so that a segment looks it up once and works on
    /// it in place (a value read out of the dictionary would copy the handler and the sides).
    final class Entry {
        var handler: any StreamHandler
        let start: StreamStart
        let overflow: StreamLimits.OverflowPolicy
        var sides = [Side(), Side()]
        /// Set when the stream ended (the entry has left the table).
        var done = false

        init(handler: any StreamHandler, start: StreamStart, overflow: StreamLimits.OverflowPolicy) {
            self.handler = handler
            self.start = start
            self.overflow = overflow
        }
    }

    /// One direction of a TCP connection being reassembled.
    struct Side {
        var started = false
        var next: UInt32 = 0
        var finAt: UInt32?
        var closed = false
        var held: [(seq: UInt32, bytes: [UInt8])] = []
        var heldBytes = 0

        /// How far `seq` is ahead of the next expected byte (negative: behind).
        func offset(_ seq: UInt32) -> Int { Int(Int32(bitPattern: seq &- next)) }
    }

    var tcpRoutes: [UInt16: Route] = [:]
    var tcpFallback: Route?
    var udpRoutes: [UInt16: Route] = [:]
    var udpFallback: Route?
    var entries: [UInt64: Entry] = [:]
    /// Connections whose stream ended before the connection did (FIN both ways, RST, an
    /// overflow): their later packets start no new stream.
    var finished: Set<UInt64> = []
    /// Connections a factory declined (a subset of ``finished``).
    var declined: Set<UInt64> = []
    /// The limits on held data.
    public let limits: StreamLimits
    /// What the reassembly did so far.
    public private(set) var statistics = StreamStatistics()

    /// A demultiplexer with these limits on held out-of-order data.
    public init(limits: StreamLimits = StreamLimits()) { self.limits = limits }

    /// Gives each TCP connection to `port` a handler made by `factory`, which receives its
    /// payload in order; `overflow` says what happens when held data passes the limits. A
    /// factory that returns `nil` declines the connection: nothing of it is held or delivered.
    public mutating func register(port: UInt16, overflow: StreamLimits.OverflowPolicy = .skipAhead,
                                  _ factory: @escaping (StreamStart) -> (any StreamHandler)?) {
        tcpRoutes[port] = Route(factory: factory, datagrams: nil, overflow: overflow)
    }

    /// Offers every TCP connection to a port nobody registered to `factory` (which may
    /// decline it by returning `nil`), as ``register(port:overflow:_:)`` does for one port.
    public mutating func registerFallback(overflow: StreamLimits.OverflowPolicy = .skipAhead,
                                          _ factory: @escaping (StreamStart) -> (any StreamHandler)?) {
        tcpFallback = Route(factory: factory, datagrams: nil, overflow: overflow)
    }

    /// Hands every UDP datagram of connections to `port` to `handler` with its direction.
    public mutating func registerDatagrams(port: UInt16, _ handler: @escaping (StreamStart, Direction, Span<UInt8>) -> Void) {
        udpRoutes[port] = Route(factory: nil, datagrams: handler, overflow: .skipAhead)
    }

    /// Hands every UDP datagram of connections to ports nobody registered to `handler`.
    public mutating func registerDatagramFallback(_ handler: @escaping (StreamStart, Direction, Span<UInt8>) -> Void) {
        udpFallback = Route(factory: nil, datagrams: handler, overflow: .skipAhead)
    }

    /// The connection a context belongs to, oriented as the tracker sees it now.
    static func start(_ context: borrowing PacketContext, _ id: UInt64) -> StreamStart {
        let p = context.packet
        let source = Endpoint(p.source, p.sourcePort), destination = Endpoint(p.destination, p.destinationPort)
        let fromOriginator = context.direction != .reply
        return StreamStart(connectionID: id, uid: context.uid ?? "", originator: fromOriginator ? source : destination,
                           responder: fromOriginator ? destination : source,
                           transport: p.layers.contains(.tcp) ? .tcp : .udp)
    }

    /// Takes one packet (from ``FlowTracker/run(file:filter:stop:packets:events:)``).
    public mutating func packet(_ context: borrowing PacketContext) {
        guard let id = context.connectionID, let direction = context.direction else { return }
        let p = context.packet
        let serverPort = direction == .original ? p.destinationPort : p.sourcePort
        if p.layers.contains(.udp) {
            guard context.payload.count > 0, let route = udpRoutes[serverPort] ?? udpFallback, let handler = route.datagrams else { return }
            statistics.datagrams += 1
            handler(Self.start(context, id), direction, context.payload)
            return
        }
        guard p.layers.contains(.tcp), p.cut != .tcp else { return }
        let start: StreamStart
        if let known = entries[id]?.start {
            start = known
        } else {
            // Nothing is made (not even the uid) for a connection nobody listens to.
            guard tcpRoutes[serverPort] != nil || tcpFallback != nil || finished.contains(id) else { return }
            start = Self.start(context, id)
        }
        segment(context.payload, sequence: p.tcp.sequence, acknowledgment: p.tcp.acknowledgment, flags: p.tcp.flags,
                from: Endpoint(p.source, p.sourcePort), of: start)
    }

    /// Takes one TCP segment of a connection the caller tracks itself (for programs that
    /// decode packets on their own; ``packet(_:)`` does this for a ``FlowTracker``): the
    /// handler is made at the connection's first segment from the factory registered for
    /// `connection.responder`'s port, and `sender` says which side sent it.
    public mutating func segment(_ payload: Span<UInt8>, sequence: UInt32, acknowledgment: UInt32, flags: TCPFlags,
                                 from sender: Endpoint, of connection: StreamStart) {
        let id = connection.connectionID
        if !finished.isEmpty, finished.contains(id) {
            if payload.count > 0, !flags.contains(.rst), declined.contains(id) == false { statistics.dataAfterClose += 1 }
            return
        }
        let entry: Entry
        if let known = entries[id] {
            entry = known
        } else {
            guard let route = tcpRoutes[connection.responder.port] ?? tcpFallback, let factory = route.factory else { return }
            guard let handler = factory(connection) else {
                finished.insert(id)
                declined.insert(id)
                return
            }
            entry = Entry(handler: handler, start: connection, overflow: route.overflow)
            entries[id] = entry
            statistics.streams += 1
        }
        segment(entry, side: sender == entry.start.originator ? 0 : 1, payload, sequence: sequence, flags: flags,
                acknowledgment: acknowledgment)
    }

    /// Ends the stream of connection `id` (its connection ended for `reason`).
    public mutating func end(connection id: UInt64, reason: EndReason) {
        if !finished.isEmpty, finished.remove(id) != nil { declined.remove(id) }
        guard let entry = entries[id] else { return }
        finish(entry, .connectionEnded(reason))
    }

    /// Takes one connection event: an ended connection ends its stream.
    public mutating func event(_ event: ConnectionEvent) {
        guard case let .ended(c) = event else { return }
        end(connection: c.id, reason: c.endReason ?? .endOfInput)
    }

    // MARK: Reassembly

    mutating func segment(_ entry: Entry, side s: Int, _ payload: Span<UInt8>, sequence: UInt32, flags: TCPFlags,
                          acknowledgment: UInt32) {
        var side = entry.sides[s]
        if flags.contains(.syn) {
            if !side.started { side.started = true; side.next = sequence &+ 1 }
        }
        let dataSequence = flags.contains(.syn) ? sequence &+ 1 : sequence
        if !side.started {
            side.started = true
            side.next = dataSequence
        }
        entry.sides[s] = side
        if payload.count > 0, !flags.contains(.rst) {
            if side.closed || side.finAt.map({ side.offset(dataSequence) >= Int(Int32(bitPattern: $0 &- side.next)) }) == true {
                statistics.dataAfterClose += 1
            } else {
                deliver(entry, side: s, payload, at: dataSequence)
            }
        }
        guard !entry.done else { return }  // dropped on overflow
        if flags.contains(.fin), entry.sides[s].finAt == nil {
            entry.sides[s].finAt = dataSequence &+ UInt32(truncatingIfNeeded: payload.count)
        }
        if flags.contains(.ack), !flags.contains(.rst) { acknowledged(entry, side: 1 - s, upTo: acknowledgment) }
        closeIfDone(entry, side: s)
        guard !entry.done else { return }
        if flags.contains(.rst) {
            finish(entry, .reset)
        } else if entry.sides[0].closed, entry.sides[1].closed {
            finish(entry, .closed)
        }
    }

    /// Data at `sequence`: delivered in place when it is next, held (copied) when ahead.
    mutating func deliver(_ entry: Entry, side s: Int, _ payload: Span<UInt8>, at sequence: UInt32) {
        let ahead = entry.sides[s].offset(sequence)
        if ahead <= 0 {
            let skip = -ahead
            guard skip < payload.count else { return }  // all of it delivered already: the first data wins
            let fresh = payload.extracting(skip...)
            entry.sides[s].next = sequence &+ UInt32(truncatingIfNeeded: payload.count)
            statistics.deliveredBytes += fresh.count
            entry.handler.receive(fresh, from: s == 0 ? .original : .reply)
            drainHeld(entry, side: s)
        } else {
            hold(entry, side: s, payload, at: sequence)
        }
    }

    /// Keeps a copy of data ahead of a hole; bytes that overlap data already held stay as
    /// they were (the first data wins) and a difference is counted.
    mutating func hold(_ entry: Entry, side s: Int, _ payload: Span<UInt8>, at sequence: UInt32) {
        var side = entry.sides[s]
        var bytes: [UInt8] = []
        bytes.append(copying: payload)
        // Trim against held segments: the first data wins.
        let start = side.offset(sequence)
        var inconsistent = false
        var pieces: [(Int, [UInt8])] = [(start, bytes)]
        for (heldSequence, heldBytes) in side.held {
            let heldStart = side.offset(heldSequence), heldEnd = heldStart + heldBytes.count
            var next: [(Int, [UInt8])] = []
            for (pieceStart, piece) in pieces {
                let pieceEnd = pieceStart + piece.count
                let lo = max(pieceStart, heldStart), hi = min(pieceEnd, heldEnd)
                guard lo < hi else { next.append((pieceStart, piece)); continue }
                if !inconsistent, piece[(lo - pieceStart)..<(hi - pieceStart)].elementsEqual(heldBytes[(lo - heldStart)..<(hi - heldStart)]) == false {
                    inconsistent = true
                }
                if pieceStart < lo { next.append((pieceStart, Array(piece[0..<(lo - pieceStart)]))) }
                if hi < pieceEnd { next.append((hi, Array(piece[(hi - pieceStart)...]))) }
            }
            pieces = next
        }
        if inconsistent { statistics.inconsistentOverlaps += 1 }
        let added = pieces.reduce(0) { $0 + $1.1.count }
        guard added > 0 else { return }
        if side.heldBytes + added > limits.perDirection || statistics.heldBytes + added > limits.total {
            statistics.overflows += 1
            if entry.overflow == .dropStream {
                finish(entry, .bufferOverflow)
                return
            }
            // Skip ahead: the hole before the earliest held data becomes a gap, and what is
            // held goes out, so this direction holds nothing; then this data is placed anew.
            flushWithGaps(entry, side: s)
            deliverOrGap(entry, side: s, payload, at: sequence)
            return
        }
        for (pieceStart, piece) in pieces {
            side.held.append((side.next &+ UInt32(truncatingIfNeeded: pieceStart), piece))
        }
        let next = side.next
        side.held.sort { Int32(bitPattern: $0.seq &- next) < Int32(bitPattern: $1.seq &- next) }
        side.heldBytes += added
        entry.sides[s] = side
        statistics.heldBytes += added
        statistics.peakHeldBytes = max(statistics.peakHeldBytes, statistics.heldBytes)
    }

    /// After an overflow: data ahead of the hole is delivered behind a gap.
    mutating func deliverOrGap(_ entry: Entry, side s: Int, _ payload: Span<UInt8>, at sequence: UInt32) {
        let ahead = entry.sides[s].offset(sequence)
        if ahead > 0 { gap(entry, side: s, ahead) }
        deliver(entry, side: s, payload, at: sequence)
    }

    /// Delivers held data that has become next in order.
    mutating func drainHeld(_ entry: Entry, side s: Int) {
        while let first = entry.sides[s].held.first {
            let side = entry.sides[s]
            let ahead = side.offset(first.seq)
            guard ahead <= 0 else { return }
            entry.sides[s].held.removeFirst()
            entry.sides[s].heldBytes -= first.bytes.count
            statistics.heldBytes -= first.bytes.count
            let skip = -ahead
            guard skip < first.bytes.count else { continue }
            entry.sides[s].next = first.seq &+ UInt32(truncatingIfNeeded: first.bytes.count)
            statistics.deliveredBytes += first.bytes.count - skip
            statistics.heldThenDeliveredBytes += first.bytes.count - skip
            let bytes = first.bytes
            entry.handler.receive(bytes.span.extracting(skip...), from: s == 0 ? .original : .reply)
        }
    }

    /// Reports `length` missing bytes of a side and moves past them.
    mutating func gap(_ entry: Entry, side s: Int, _ length: Int) {
        guard length > 0 else { return }
        entry.sides[s].next = entry.sides[s].next &+ UInt32(truncatingIfNeeded: length)
        statistics.gapBytes += length
        entry.handler.gap(length, in: s == 0 ? .original : .reply)
    }

    /// The peer acknowledged a side up to `ack`: a hole before it will never be filled.
    mutating func acknowledged(_ entry: Entry, side s: Int, upTo ack: UInt32) {
        let side = entry.sides[s]
        guard !entry.done, side.started, !side.closed else { return }
        var limit = side.offset(ack)
        if let fin = side.finAt { limit = min(limit, side.offset(fin)) }
        guard limit > 0, limit < Int(Int32.max) else { return }
        let firstHeld = side.held.first.map { side.offset($0.seq) } ?? Int.max
        gap(entry, side: s, min(limit, firstHeld))
        drainHeld(entry, side: s)
        closeIfDone(entry, side: s)
    }

    /// Delivers everything still held, each hole before it reported as a gap.
    mutating func flushWithGaps(_ entry: Entry, side s: Int) {
        while let first = entry.sides[s].held.first {
            let ahead = entry.sides[s].offset(first.seq)
            if ahead > 0 { gap(entry, side: s, ahead) }
            drainHeld(entry, side: s)
        }
    }

    mutating func closeIfDone(_ entry: Entry, side s: Int) {
        let side = entry.sides[s]
        guard !entry.done, let fin = side.finAt, side.offset(fin) <= 0 else { return }
        entry.sides[s].closed = true
    }

    /// Ends a stream: held data goes out behind its gaps, then the handler's `end`.
    mutating func finish(_ entry: Entry, _ reason: StreamEnd) {
        guard !entry.done else { return }
        if reason != .bufferOverflow {
            flushWithGaps(entry, side: 0)
            flushWithGaps(entry, side: 1)
        }
        entry.done = true
        let id = entry.start.connectionID
        entries.removeValue(forKey: id)
        if case .connectionEnded = reason {} else { finished.insert(id) }
        let held = entry.sides[0].heldBytes + entry.sides[1].heldBytes
        statistics.heldBytes -= held
        entry.handler.end(reason)
    }
}

extension FlowTracker {
    /// Reads a capture file through `streams`: every TCP connection to a registered port has
    /// its payload reassembled and handed to its handler, every UDP datagram to a registered
    /// port to its datagram handler; `events` receives the connection events as usual.
    /// Connections still open stay open: ``finish(_:)`` ends them (pass the events to
    /// ``StreamDemultiplexer/event(_:)`` to end their streams too).
    public mutating func run(file path: String, filter: String? = nil, streams: inout StreamDemultiplexer,
                             events: (ConnectionEvent) -> Void = { _ in }) throws(CaptureError) {
        try run(files: [path], filter: filter, streams: &streams, events: events)
    }

    /// Reads several capture files as one capture (merged by timestamp) through `streams`,
    /// as ``run(file:filter:streams:events:)`` reads one.
    public mutating func run(files paths: [String], filter: String? = nil, streams: inout StreamDemultiplexer,
                             events: (ConnectionEvent) -> Void = { _ in }) throws(CaptureError) {
        do {
            try run(files: paths, filter: filter, packets: { streams.packet($0) }, events: { event in
                streams.event(event)
                events(event)
            })
        } catch {
            switch error {
            case let .capture(failure): throw failure
            }
        }
    }
}
