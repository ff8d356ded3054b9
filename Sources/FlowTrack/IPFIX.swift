import Flows
import Packets
import Pcap

/// IPFIX (RFC 7011) messages for connections: templates and data records with IANA
/// information elements, bidirectional (RFC 5103 reverse elements) or as two
/// unidirectional records, packed into messages no larger than a path MTU allows.
///
/// The elements of each record, in order:
///
/// | element | id | length |
/// |---|---|---|
/// | flowStartMilliseconds, flowEndMilliseconds | 152, 153 | 8 |
/// | sourceIPv4Address, destinationIPv4Address (IPv6: sourceIPv6Address, destinationIPv6Address) | 8, 12 (27, 28) | 4 (16) |
/// | sourceTransportPort, destinationTransportPort (0 for ICMP) | 7, 11 | 2 |
/// | icmpTypeCodeIPv4 (IPv6: icmpTypeCodeIPv6): type × 256 + code for ICMP, else 0 | 32 (139) | 2 |
/// | protocolIdentifier | 4 | 1 |
/// | tcpControlBits (from the history's letters: S, h → SYN; A, D → ACK; F → FIN; R → RST) | 6 | 2 |
/// | flowEndReason (timeout 1, FIN/RST/reuse 3, end of input 4, eviction 5) | 136 | 1 |
/// | vlanId (0 when unknown) | 58 | 2 |
/// | octetDeltaCount, packetDeltaCount (IP bytes and packets from the source) | 1, 2 | 8 |
/// | biflow only: reverseOctetDeltaCount, reversePacketDeltaCount, reverseTcpControlBits (PEN 29305) | 1, 2, 6 | 8, 8, 2 |
///
/// Source is the originator (the responder in a uniflow reply record). Times are packet
/// times. Templates 256 (IPv4) and 257 (IPv6) are biflow, 258 and 259 uniflow.
///
/// ```swift
/// var encoder = IPFIXEncoder(observationDomain: 1)
/// var messages: [[UInt8]] = [encoder.templates(exportTime: 1_700_000_000)]
/// if let full = encoder.add(connection, exportTime: 1_700_000_000) { messages.append(full) }
/// if let last = encoder.flush(exportTime: 1_700_000_000) { messages.append(last) }
/// ```
public struct IPFIXEncoder: Sendable {
    /// The observation domain of every message.
    public let observationDomain: UInt32
    /// Whether a connection is one biflow record (RFC 5103) or two uniflow records.
    public let bidirectional: Bool
    /// The largest message, in bytes (a UDP payload within the path MTU).
    public let maximumMessageSize: Int
    /// Data records sent before the message being built (the header's sequence number).
    public private(set) var sequenceNumber: UInt32 = 0
    /// Messages built so far.
    public private(set) var messages = 0

    /// The length of an IPv4 and an IPv6 data record.
    let recordLengths: (v4: Int, v6: Int)
    /// The data records waiting for the next message, by template (IPv4, IPv6).
    var pending: [[UInt8]] = [[], []]
    var pendingRecords = [0, 0]

    /// The reverse information elements' Private Enterprise Number (RFC 5103).
    public static let reversePEN: UInt32 = 29305

    /// An encoder for one observation domain.
    public init(observationDomain: UInt32 = 1, bidirectional: Bool = true, maximumMessageSize: Int = 1400) {
        self.observationDomain = observationDomain
        self.bidirectional = bidirectional
        self.maximumMessageSize = max(256, min(maximumMessageSize, 65_535))
        recordLengths = (Self.recordLength(v6: false, bidirectional: bidirectional), Self.recordLength(v6: true, bidirectional: bidirectional))
    }

    /// Template ids for IPv4 and IPv6 records.
    var templateIDs: (v4: UInt16, v6: UInt16) { bidirectional ? (256, 257) : (258, 259) }

    /// (element id, length, enterprise number or 0) of a record's fields.
    static func fields(v6: Bool, bidirectional: Bool) -> [(UInt16, UInt16, UInt32)] {
        var f: [(UInt16, UInt16, UInt32)] = [(152, 8, 0), (153, 8, 0)]
        f += v6 ? [(27, 16, 0), (28, 16, 0)] : [(8, 4, 0), (12, 4, 0)]
        f += [(7, 2, 0), (11, 2, 0), (v6 ? 139 : 32, 2, 0), (4, 1, 0), (6, 2, 0), (136, 1, 0), (58, 2, 0), (1, 8, 0), (2, 8, 0)]
        if bidirectional { f += [(1, 8, reversePEN), (2, 8, reversePEN), (6, 2, reversePEN)] }
        return f
    }

    /// The length of one data record.
    static func recordLength(v6: Bool, bidirectional: Bool) -> Int {
        fields(v6: v6, bidirectional: bidirectional).reduce(0) { $0 + Int($1.1) }
    }

    /// A message holding the template set (both templates): sent first, and again from
    /// time to time over UDP (a collector that restarts learns them again).
    public mutating func templates(exportTime: UInt32) -> [UInt8] {
        var set: [UInt8] = []
        for (id, v6) in [(templateIDs.v4, false), (templateIDs.v6, true)] {
            let fields = Self.fields(v6: v6, bidirectional: bidirectional)
            Self.put16(&set, id)
            Self.put16(&set, UInt16(fields.count))
            for (element, length, enterprise) in fields {
                Self.put16(&set, enterprise == 0 ? element : element | 0x8000)
                Self.put16(&set, length)
                if enterprise != 0 { Self.put32(&set, enterprise) }
            }
        }
        return message(sets: [(2, set)], exportTime: exportTime)
    }

    /// Adds a connection's record(s); returns a full message when the records waiting no
    /// longer fit in one.
    /// `endReason` overrides the record's flowEndReason (2, active timeout, for the interim
    /// records of a long connection).
    public mutating func add(_ c: Connection, exportTime: UInt32, endReason: UInt8? = nil) -> [UInt8]? {
        let v6 = !c.originator.address.isIPv4
        let slot = v6 ? 1 : 0
        var out: [UInt8]?
        let length = v6 ? recordLengths.v6 : recordLengths.v4
        let records = bidirectional || c.responderCounters.packets == 0 ? 1 : 2
        // The message with these records: header 16, a set header 4 per template with records.
        var size = 16 + records * length
        for s in 0..<2 where pendingRecords[s] > 0 || s == slot { size += 4 + pending[s].count }
        if size > maximumMessageSize, pendingRecords[0] + pendingRecords[1] > 0 { out = flush(exportTime: exportTime) }
        let (forward, reverse) = Self.controlBits(c.history)
        let reason = endReason ?? Self.endReason(c.endReason)
        if bidirectional {
            append(c.originator, c.responder, c, forward, c.originatorCounters, reverse: (c.responderCounters, reverse), slot: slot,
                   reason: reason)
        } else {
            append(c.originator, c.responder, c, forward, c.originatorCounters, reverse: nil, slot: slot, reason: reason)
            if c.responderCounters.packets > 0 {
                append(c.responder, c.originator, c, reverse, c.responderCounters, reverse: nil, slot: slot, reason: reason)
            }
        }
        return out
    }

    /// The message with the records waiting, if any.
    public mutating func flush(exportTime: UInt32) -> [UInt8]? {
        guard pendingRecords[0] + pendingRecords[1] > 0 else { return nil }
        var sets: [(UInt16, [UInt8])] = []
        if pendingRecords[0] > 0 { sets.append((templateIDs.v4, pending[0])) }
        if pendingRecords[1] > 0 { sets.append((templateIDs.v6, pending[1])) }
        let records = pendingRecords[0] + pendingRecords[1]
        let bytes = message(sets: sets, exportTime: exportTime)
        sequenceNumber &+= UInt32(truncatingIfNeeded: records)
        pending = [[], []]
        pendingRecords = [0, 0]
        return bytes
    }

    mutating func append(_ source: Endpoint, _ destination: Endpoint, _ c: Connection, _ flags: UInt16,
                         _ counters: DirectionCounters, reverse: (DirectionCounters, UInt16)?, slot: Int, reason: UInt8) {
        var r: [UInt8] = []
        Self.put64(&r, UInt64(max(0, c.startTime.nanoseconds / 1_000_000)))
        Self.put64(&r, UInt64(max(0, c.lastTime.nanoseconds / 1_000_000)))
        for address in [source.address, destination.address] {
            if address.isIPv4 {
                Self.put32(&r, UInt32(truncatingIfNeeded: address.low))
            } else {
                Self.put64(&r, address.high)
                Self.put64(&r, address.low)
            }
        }
        // ICMP: no ports; its type and code (Zeek's id.orig_p and id.resp_p) in icmpTypeCode.
        let icmp = c.transport == .icmp
        Self.put16(&r, icmp ? 0 : source.port)
        Self.put16(&r, icmp ? 0 : destination.port)
        Self.put16(&r, icmp ? UInt16(truncatingIfNeeded: c.originator.port) << 8 | (c.responder.port & 0xFF) : 0)
        r.append(c.ipProtocol)
        Self.put16(&r, c.ipProtocol == 6 ? flags : 0)
        r.append(reason)
        Self.put16(&r, c.vlan ?? 0)
        Self.put64(&r, counters.ipBytes)
        Self.put64(&r, counters.packets)
        if let (back, backFlags) = reverse {
            Self.put64(&r, back.ipBytes)
            Self.put64(&r, back.packets)
            Self.put16(&r, c.ipProtocol == 6 ? backFlags : 0)
        }
        pending[slot] += r
        pendingRecords[slot] += 1
    }

    /// flowEndReason (IANA): 1 idle timeout, 2 active timeout, 3 end of flow detected, 4
    /// forced end, 5 lack of resources.
    static func endReason(_ reason: EndReason?) -> UInt8 {
        switch reason {
        case .timeout: 1
        case .fin, .rst, .reuse: 3
        case .endOfInput, nil: 4
        case .eviction: 5
        }
    }

    /// TCP flags each side sent, from Zeek's history letters (upper case: originator).
    static func controlBits(_ history: String) -> (forward: UInt16, reverse: UInt16) {
        var forward: UInt16 = 0, reverse: UInt16 = 0
        for letter in history.utf8 {
            switch letter {
            case UInt8(ascii: "S"): forward |= 0x02
            case UInt8(ascii: "H"): forward |= 0x12
            case UInt8(ascii: "A"), UInt8(ascii: "D"): forward |= 0x10
            case UInt8(ascii: "F"): forward |= 0x01
            case UInt8(ascii: "R"): forward |= 0x04
            case UInt8(ascii: "s"): reverse |= 0x02
            case UInt8(ascii: "h"): reverse |= 0x12
            case UInt8(ascii: "a"), UInt8(ascii: "d"): reverse |= 0x10
            case UInt8(ascii: "f"): reverse |= 0x01
            case UInt8(ascii: "r"): reverse |= 0x04
            default: break
            }
        }
        return (forward, reverse)
    }

    mutating func message(sets: [(UInt16, [UInt8])], exportTime: UInt32) -> [UInt8] {
        let length = 16 + sets.reduce(0) { $0 + 4 + $1.1.count }
        var m: [UInt8] = []
        m.reserveCapacity(length)
        Self.put16(&m, 10)
        Self.put16(&m, UInt16(length))
        Self.put32(&m, exportTime)
        Self.put32(&m, sequenceNumber)
        Self.put32(&m, observationDomain)
        for (id, body) in sets {
            Self.put16(&m, id)
            Self.put16(&m, UInt16(4 + body.count))
            m += body
        }
        messages += 1
        return m
    }

    static func put16(_ b: inout [UInt8], _ v: UInt16) { b.append(UInt8(v >> 8)); b.append(UInt8(v & 0xFF)) }
    static func put32(_ b: inout [UInt8], _ v: UInt32) { put16(&b, UInt16(v >> 16)); put16(&b, UInt16(v & 0xFFFF)) }
    static func put64(_ b: inout [UInt8], _ v: UInt64) { put32(&b, UInt32(v >> 32)); put32(&b, UInt32(v & 0xFFFF_FFFF)) }
}

/// Sends connections to an IPFIX collector over UDP as they end: the templates first and
/// again every `templateRefresh` seconds or 100 messages (so a restarted collector learns
/// them), records
/// packed into messages within the path MTU, send failures counted (a collector that is not
/// there does not stop the run).
///
/// ```swift
/// let exporter = try IPFIXExporter(host: "127.0.0.1", port: 4739)
/// var tracker = FlowTracker()
/// try tracker.run(file: "trace.pcap") { event in
///     if case let .ended(c) = event { exporter.export(c) }
/// }
/// tracker.finish { event in if case let .ended(c) = event { exporter.export(c) } }
/// exporter.finish()
/// print(exporter.recordsSent, exporter.sendFailures)
/// ```
public final class IPFIXExporter {
    var encoder: IPFIXEncoder
    let socket: DatagramSocket
    /// Seconds between template sets.
    public let templateRefresh: Int64
    var lastTemplates: Int64 = .min
    /// Connections exported.
    public private(set) var connectionsExported = 0
    /// Messages sent (templates included).
    public private(set) var messagesSent = 0
    /// Messages the system refused to send (no collector: ICMP port unreachable; full buffer).
    public private(set) var sendFailures = 0
    /// Data records sent (one or two per connection).
    public var recordsSent: UInt32 { encoder.sequenceNumber }
    /// The collector, as `host:port`.
    public var destination: String { socket.destination }

    /// Connects to the collector (IPv4 or IPv6). Templates go out first, then every
    /// `templateRefresh` seconds or `templateRefreshMessages` messages.
    /// - Throws: `CaptureError.writeFailed` when the name does not resolve or no socket connects.
    public init(host: String, port: UInt16, observationDomain: UInt32 = 1, bidirectional: Bool = true,
                maximumMessageSize: Int = 1400, templateRefresh: Int64 = 60, templateRefreshMessages: Int = 100) throws(CaptureError) {
        self.templateRefreshMessages = max(1, templateRefreshMessages)
        socket = try DatagramSocket(host: host, port: port)
        encoder = IPFIXEncoder(observationDomain: observationDomain, bidirectional: bidirectional,
                               maximumMessageSize: maximumMessageSize)
        self.templateRefresh = templateRefresh
    }

    var exportTime: UInt32 { UInt32(truncatingIfNeeded: WallClock.now.nanoseconds / 1_000_000_000) }

    func send(_ message: [UInt8]) {
        messagesSinceTemplates += 1
        if socket.send(message) { messagesSent += 1 } else { sendFailures += 1 }
    }

    /// Messages between two template sets, whatever the time (RFC 7011 §8.4: over UDP, by
    /// time and by message count, so a collector that restarts during a fast export of a
    /// capture learns the templates again within that many messages).
    public let templateRefreshMessages: Int
    var messagesSinceTemplates = 0

    func refreshTemplates() {
        let now = WallClock.now.nanoseconds / 1_000_000_000
        guard lastTemplates == .min || now - lastTemplates >= templateRefresh
              || messagesSinceTemplates >= templateRefreshMessages else { return }
        lastTemplates = now
        messagesSinceTemplates = 0
        send(encoder.templates(exportTime: exportTime))
    }

    /// What interim records of long connections have exported so far, by connection number.
    var interim: [UInt64: (time: Timestamp, originator: DirectionCounters, responder: DirectionCounters)] = [:]

    /// Exports one connection that ended (sent once a message is full, or at ``finish()``).
    /// After interim records (``exportActive(_:now:timeout:)``) it carries what came since.
    public func export(_ c: Connection) {
        refreshTemplates()
        connectionsExported += 1
        var record = c
        if let sent = interim.removeValue(forKey: c.id) { Self.subtract(sent, from: &record) }
        if let message = encoder.add(record, exportTime: exportTime) { send(message) }
    }

    /// The live meter's active timeout: every connection of `open` (the tracker's
    /// connections still open) whose last record is `timeout` or more old gets an interim
    /// record with what it carried since (flowEndReason 2, active timeout), from that time.
    public func exportActive(_ open: [Connection], now: Timestamp, timeout: Duration) {
        for c in open {
            let since = interim[c.id]?.time ?? c.startTime
            guard now - since >= timeout else { continue }
            refreshTemplates()
            var record = c
            if let sent = interim[c.id] { Self.subtract(sent, from: &record) }
            interim[c.id] = (c.lastTime, c.originatorCounters, c.responderCounters)
            if let message = encoder.add(record, exportTime: exportTime, endReason: 2) { send(message) }
        }
    }

    /// `c` as a delta record: counts since the interim record `sent`, times from it.
    static func subtract(_ sent: (time: Timestamp, originator: DirectionCounters, responder: DirectionCounters), from c: inout Connection) {
        c.startTime = sent.time
        c.originatorCounters.packets -= min(c.originatorCounters.packets, sent.originator.packets)
        c.originatorCounters.ipBytes -= min(c.originatorCounters.ipBytes, sent.originator.ipBytes)
        c.responderCounters.packets -= min(c.responderCounters.packets, sent.responder.packets)
        c.responderCounters.ipBytes -= min(c.responderCounters.ipBytes, sent.responder.ipBytes)
    }

    /// Sends the records still waiting.
    public func finish() {
        refreshTemplates()
        if let message = encoder.flush(exportTime: exportTime) { send(message) }
    }
}
