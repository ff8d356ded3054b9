/// The transport a connection row reports in Zeek's `proto` column.
public enum TransportProtocol: UInt8, Sendable, CaseIterable, CustomStringConvertible {
    /// TCP.
    case tcp
    /// UDP.
    case udp
    /// ICMP or ICMPv6.
    case icmp
    /// Any other IP protocol.
    case unknown

    /// Zeek's spelling: `tcp`, `udp`, `icmp`, `unknown_transport`.
    public var description: String {
        switch self {
        case .tcp: return "tcp"
        case .udp: return "udp"
        case .icmp: return "icmp"
        case .unknown: return "unknown_transport"
        }
    }
}

/// One side (endpoint A or B of the flow key) of a tracked connection: the facts
/// every packet touches, in 46 bytes.
///
/// Counters and sequence positions are 48-bit (256 TiB per direction, far beyond
/// any connection), stored as a 32-bit low half and a 16-bit high half so that the
/// whole side packs without padding. Sequence positions are absolute values
/// extended across 32-bit wraps. Facts most connections never need (out-of-order
/// data, repeat-rule sequence numbers, retransmission and other letter counters)
/// live in ``RareSide``, allocated only for connections that have them.
struct Side {
    // The 48-bit values: 32-bit low halves here…
    private var packetsLow: UInt32 = 0, ipBytesLow: UInt32 = 0, payloadLow: UInt32 = 0
    private var lastLow: UInt32 = 0, ackLow: UInt32 = 0, deliveredLow: UInt32 = 0
    /// TCP start: the ISN, or first seq − 1 (a 32-bit sequence number).
    var start32: UInt32 = 0
    /// Relative sequence of the last FIN's end, for the repeat rule of F.
    var lastFin: UInt32 = 0
    // …and their 16-bit high halves.
    private var packetsHigh: UInt16 = 0, ipBytesHigh: UInt16 = 0, payloadHigh: UInt16 = 0
    private var lastHigh: UInt16 = 0, ackHigh: UInt16 = 0, deliveredHigh: UInt16 = 0
    /// State (bits 0–2), previous state (3–5), ``SideFlags`` (6–11) and 4 bits the
    /// connection keeps here (12–15, ``ConnectionState`` uses them).
    private var bits: UInt16 = 0

    var state: EndpointState {
        @inline(__always) get { EndpointState(rawValue: UInt8(truncatingIfNeeded: bits & 7)) ?? .inactive }
        set { bits = bits & ~7 | UInt16(newValue.rawValue) }
    }
    var prevState: EndpointState {
        @inline(__always) get { EndpointState(rawValue: UInt8(truncatingIfNeeded: bits >> 3 & 7)) ?? .inactive }
        set { bits = bits & ~(7 << 3) | UInt16(newValue.rawValue) << 3 }
    }
    var flags: SideFlags {
        @inline(__always) get { SideFlags(rawValue: UInt8(truncatingIfNeeded: bits >> 6 & 0x3F)) }
        set { bits = bits & ~(0x3F << 6) | UInt16(newValue.rawValue & 0x3F) << 6 }
    }
    /// Four bits of storage for the connection (see ``ConnectionState/tcpState``).
    var spare: UInt8 {
        get { UInt8(truncatingIfNeeded: bits >> 12) }
        set { bits = bits & 0x0FFF | UInt16(newValue & 0xF) << 12 }
    }

    @inline(__always) static func join(_ low: UInt32, _ high: UInt16) -> UInt64 { UInt64(high) << 32 | UInt64(low) }
    @inline(__always) static func split(_ v: UInt64, _ low: inout UInt32, _ high: inout UInt16) {
        low = UInt32(truncatingIfNeeded: v)
        high = UInt16(truncatingIfNeeded: v >> 32)
    }

    var packets: UInt64 { get { Self.join(packetsLow, packetsHigh) } set { Self.split(newValue, &packetsLow, &packetsHigh) } }
    var ipBytes: UInt64 { get { Self.join(ipBytesLow, ipBytesHigh) } set { Self.split(newValue, &ipBytesLow, &ipBytesHigh) } }
    var payloadBytes: UInt64 { get { Self.join(payloadLow, payloadHigh) } set { Self.split(newValue, &payloadLow, &payloadHigh) } }
    /// TCP: highest sequence end seen.
    var last: UInt64 { get { Self.join(lastLow, lastHigh) } set { Self.split(newValue, &lastLow, &lastHigh) } }
    /// TCP: highest ack received from the peer (in this side's sequence space).
    var ack: UInt64 { get { Self.join(ackLow, ackHigh) } set { Self.split(newValue, &ackLow, &ackHigh) } }
    /// TCP reassembly model for gap detection: contiguous data delivered up to here
    /// (0: not started), plus at most one out-of-order range in ``RareSide``.
    var delivered: UInt64 { get { Self.join(deliveredLow, deliveredHigh) } set { Self.split(newValue, &deliveredLow, &deliveredHigh) } }

    /// The start of the sequence space as a 64-bit position.
    var start: UInt64 {
        get { UInt64(start32) }
        set { start32 = UInt32(truncatingIfNeeded: newValue) }
    }

    mutating func setState(_ s: EndpointState) {
        if s != state {
            prevState = state
            state = s
        }
    }
}

/// The facts of one side that most connections never need; all zero by default.
struct RareSide {
    /// The out-of-order range, as offsets from ``Side/delivered`` (empty when equal).
    var oooStartOffset: UInt32 = 0
    var oooEndOffset: UInt32 = 0
    /// Relative sequence of the last SYN / RST, for the repeat rules of S H R
    /// (a first SYN is at relative sequence 0).
    var lastSyn: UInt32 = 0
    var lastRst: UInt32 = 0
    /// Logarithmic letter counters (Docs/ZeekSemantics.md §5). Retransmissions are
    /// reported and counted to 2^32; the others only decide letters and saturate
    /// at 65535 (so no letter for a 100 000th bad checksum, gap or zero window).
    var retransmissions: UInt32 = 0
    var badChecksums: UInt16 = 0
    var gaps: UInt16 = 0
    var zeroWindows: UInt16 = 0

    /// Whether every field is zero (branch-free, for the store after every packet).
    var isZero: Bool {
        (oooStartOffset | oooEndOffset | lastSyn | lastRst | retransmissions
            | UInt32(badChecksums | gaps | zeroWindows)) == 0
    }

    /// The out-of-order range as absolute positions (start == end when empty).
    func ooo(_ side: Side) -> (start: UInt64, end: UInt64) {
        (side.delivered &+ UInt64(oooStartOffset), side.delivered &+ UInt64(oooEndOffset))
    }

    /// Stores an out-of-order range relative to `side.delivered` (dropped if it is empty or too far ahead).
    mutating func setOOO(_ start: UInt64, _ end: UInt64, _ side: Side) {
        let delivered = side.delivered
        if end > start, start >= delivered, end - delivered <= UInt64(UInt32.max) {
            oooStartOffset = UInt32(start - delivered)
            oooEndOffset = UInt32(end - delivered)
        } else {
            oooStartOffset = 0
            oooEndOffset = 0
        }
    }
}

/// The rare facts of a connection: both sides', the missed bytes, an attempt
/// timer armed after the first packet. Kept in ``RareStore`` only when not all zero.
struct RareState {
    var a = RareSide()
    var b = RareSide()
    var missedBytes: UInt64 = 0
    /// The attempt timer's due time when it was not armed by the first packet (0: none).
    var attemptDue: Int64 = 0

    /// Whether every field is zero.
    var isZero: Bool { a.isZero && b.isZero && (missedBytes | UInt64(bitPattern: attemptDue)) == 0 }
}

/// The ``RareState`` records of the connections that have one, by 1-based number,
/// with recycling; number 0 reads as all zero.
struct RareStore {
    var records: [RareState] = []
    var free: [UInt32] = []

    /// The record number `n`, or an all-zero record for 0.
    @inline(__always)
    func load(_ n: UInt32) -> RareState { n == 0 ? RareState() : records[Int(n) - 1] }

    /// Stores `r` under `n`, allocating a number the first time it is not all zero.
    @inline(__always)
    mutating func store(_ r: RareState, _ n: inout UInt32) {
        if n != 0 {
            records[Int(n) - 1] = r
        } else if !r.isZero {
            if let reused = free.popLast() {
                n = reused
                records[Int(n) - 1] = r
            } else {
                records.append(r)
                n = UInt32(records.count)
            }
        }
    }

    /// Frees record `n` (0: nothing to free).
    mutating func release(_ n: UInt32) {
        guard n != 0 else { return }
        records[Int(n) - 1] = RareState()
        free.append(n)
    }

    var memoryFootprint: Int { records.capacity * MemoryLayout<RareState>.stride + free.capacity * 4 }
}

struct SideFlags: OptionSet {
    var rawValue: UInt8
    static let seqInitialized = SideFlags(rawValue: 1)
    static let didClose = SideFlags(rawValue: 2)
    static let finSeen = SideFlags(rawValue: 4)
    static let rstSeen = SideFlags(rawValue: 8)
    /// UDP: at least one good packet from this side.
    static let active = SideFlags(rawValue: 16)
    static let dataSeen = SideFlags(rawValue: 32)
}

struct ConnectionFlags: OptionSet {
    var rawValue: UInt16
    /// The originator is endpoint A of the key.
    static let origIsA = ConnectionFlags(rawValue: 1 << 0)
    /// conntrack's original direction is endpoint A.
    static let ctOrigIsA = ConnectionFlags(rawValue: 1 << 1)
    /// conntrack has created its entry.
    static let ctCreated = ConnectionFlags(rawValue: 1 << 2)
    /// conntrack's `IPS_SEEN_REPLY`: a reply-direction packet was accepted.
    static let ctSeenReply = ConnectionFlags(rawValue: 1 << 7)
    /// The delete timer is scheduled (complete close); expire timers stop.
    static let closeComplete = ConnectionFlags(rawValue: 1 << 8)
    /// TCP's inactivity timeout has switched to the TCP value.
    static let handshakeDone = ConnectionFlags(rawValue: 1 << 9)
    /// `connection_established` was raised (for the 1 h port override).
    static let established = ConnectionFlags(rawValue: 1 << 10)
    /// The first plain SYN came from endpoint A / B (its receiver is the server).
    static let firstSynFromA = ConnectionFlags(rawValue: 1 << 11)
    static let firstSynFromB = ConnectionFlags(rawValue: 1 << 12)
    /// The attempt timer is pending, due `tcp_attempt_delay` after the first packet.
    static let attemptAtStart = ConnectionFlags(rawValue: 1 << 13)

    // UDP only (bits the TCP-only flags above use for TCP):
    /// Zeek's DNS analyzer is attached (the responder port was a DNS port at creation);
    /// `expireDue` is its 10 s check.
    static let dnsAnalyzer = ConnectionFlags(rawValue: 1 << 14)
    /// The DNS analyzer accepted its first message.
    static let dnsFirstSeen = ConnectionFlags(rawValue: 1 << 9)
    /// NTP turned the connection around on a message from the originator / responder slot.
    static let ntpFlippedByOriginator = ConnectionFlags(rawValue: 1 << 10)
    static let ntpFlippedByResponder = ConnectionFlags(rawValue: 1 << 15)
}

/// The state FlowTrack keeps for one connection in the flow table: 168 bytes,
/// so a table entry with its 40-byte key is 208. The two 46-byte sides each leave
/// a 2-byte gap before the next 4-byte boundary, which `seen` and `flags` fill;
/// the kernel-style state and the transport live in the sides' spare bits.
struct ConnectionState {
    var a = Side()
    /// Once-only history letters seen (``HistoryBit``; responder's shifted left by 8).
    var seen: UInt16 = 0
    var b = Side()
    var flags: ConnectionFlags = []
    var startTime: Int64 = 0
    var lastTime: Int64 = 0
    var serial: UInt64 = 0
    /// Due times of the pending timers (0: none). One wheel entry, at `wakeDue`,
    /// stands for all of them (Docs/ZeekSemantics.md §3.7, §8). The attempt timer is the
    /// flag ``ConnectionFlags/attemptAtStart`` or ``RareState/attemptDue``.
    var inactivityDue: Int64 = 0
    var expireDue: Int64 = 0
    /// Before the close is complete: a second expire chain, started by a half close
    /// (`ConnectionClosed`); after (``ConnectionFlags/closeComplete``): the delete
    /// timer, which cancels every other.
    var laterDue: Int64 = 0
    var wakeDue: Int64 = 0
    var history = History()
    /// The ``RareStore`` number of this connection's rare facts (0: all zero).
    var rare: UInt32 = 0

    /// The kernel-style TCP state (in side A's spare bits).
    var tcpState: TCPState {
        get { TCPState(rawValue: a.spare) ?? .initial }
        set { a.spare = newValue.rawValue }
    }

    /// The transport (in side B's spare bits).
    var transport: TransportProtocol {
        get { TransportProtocol(rawValue: b.spare & 3) ?? .unknown }
        set { b.spare = newValue.rawValue }
    }

    var origIsA: Bool { flags.contains(.origIsA) }

    /// The expire chain started by a half close, while the close is not complete.
    var expire2Due: Int64 { flags.contains(.closeComplete) ? 0 : laterDue }
    /// The delete timer, once the close is complete.
    var deleteDue: Int64 { flags.contains(.closeComplete) ? laterDue : 0 }
}

/// Facts of the packet that created a connection that only some outputs show: its
/// VLAN IDs and link-layer addresses (by key endpoint, so flips need no bookkeeping).
struct LinkFacts {
    /// VLAN IDs with bit 12 set when present (0: no tag).
    var vlan: UInt16 = 0
    var innerVLAN: UInt16 = 0
    /// Link-layer addresses of key endpoints A and B.
    var addressA: MACAddress = .zero
    var addressB: MACAddress = .zero

    init() {}

    init(_ p: DecodedPacket, fromA: Bool) {
        if p.vlanCount > 0 { vlan = p.outerVLAN & 0xFFF | 0x1000 }
        if p.vlanCount > 1 { innerVLAN = p.innerVLAN & 0xFFF | 0x1000 }
        addressA = fromA ? p.linkSource : p.linkDestination
        addressB = fromA ? p.linkDestination : p.linkSource
    }
}
