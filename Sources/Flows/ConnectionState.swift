/// The transport a connection row reports in Zeek's `proto` column.
public enum TransportProtocol: UInt8, Sendable, CustomStringConvertible {
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

/// One side (endpoint A or B of the flow key) of a tracked connection.
/// Sequence positions are 64-bit absolute values extended across 32-bit wraps.
struct Side {
    var packets: UInt64 = 0
    var ipBytes: UInt64 = 0
    var payloadBytes: UInt64 = 0
    /// TCP: highest sequence end seen, highest ack received (64-bit, extended across wraps).
    var last: UInt64 = 0
    var ack: UInt64 = 0
    /// TCP reassembly model for gap detection: contiguous data delivered up to here…
    var delivered: UInt64 = 0
    /// …plus one out-of-order range, as offsets from `delivered` (empty when equal).
    var oooStartOffset: UInt32 = 0
    var oooEndOffset: UInt32 = 0
    /// TCP start: the ISN, or first seq − 1 (a 32-bit sequence number).
    var start32: UInt32 = 0
    /// Relative sequence of the last SYN / FIN end / RST, for the repeat rules of S H F R.
    var lastSyn: UInt32 = 0
    var lastFin: UInt32 = 0
    var lastRst: UInt32 = 0
    /// Logarithmic letter counters (ZEEK_SEMANTICS §5). Retransmissions are
    /// reported and counted to 2^32; the others only decide letters and saturate
    /// at 65535 (so no letter for a 100 000th bad checksum, gap or zero window).
    var retransmissions: UInt32 = 0
    var badChecksums: UInt16 = 0
    var gaps: UInt16 = 0
    var zeroWindows: UInt16 = 0
    var state: EndpointState = .inactive
    var prevState: EndpointState = .inactive
    var flags: SideFlags = []

    /// The start of the sequence space as a 64-bit position.
    var start: UInt64 {
        get { UInt64(start32) }
        set { start32 = UInt32(truncatingIfNeeded: newValue) }
    }

    /// The out-of-order range as absolute positions (start == end when empty).
    var ooo: (start: UInt64, end: UInt64) {
        (delivered &+ UInt64(oooStartOffset), delivered &+ UInt64(oooEndOffset))
    }

    /// Stores an out-of-order range relative to `delivered` (dropped if it is empty or too far ahead).
    mutating func setOOO(_ start: UInt64, _ end: UInt64) {
        if end > start, start >= delivered, end - delivered <= UInt64(UInt32.max) {
            oooStartOffset = UInt32(start - delivered)
            oooEndOffset = UInt32(end - delivered)
        } else {
            oooStartOffset = 0
            oooEndOffset = 0
        }
    }

    mutating func setState(_ s: EndpointState) {
        if s != state {
            prevState = state
            state = s
        }
    }
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
    /// conntrack: someone moved the state to FIN_WAIT.
    static let ctCloseInit = ConnectionFlags(rawValue: 1 << 3)
    /// conntrack: the last original / reply packet was a RST.
    static let ctLastRstOriginal = ConnectionFlags(rawValue: 1 << 4)
    static let ctLastRstReply = ConnectionFlags(rawValue: 1 << 5)
    static let ctSimultaneousOpen = ConnectionFlags(rawValue: 1 << 6)
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
}

/// The state FlowTrack keeps for one connection in the flow table.
struct ConnectionState {
    var a = Side()
    var b = Side()
    var startTime: Int64 = 0
    var lastTime: Int64 = 0
    var serial: UInt64 = 0
    /// Due times of the pending timers (0: none). One wheel entry, at `wakeDue`,
    /// stands for all of them (ZEEK_SEMANTICS §3.7, §8).
    var inactivityDue: Int64 = 0
    var attemptDue: Int64 = 0
    var expireDue: Int64 = 0
    /// A second expire chain, started by a half close (`ConnectionClosed`).
    var expire2Due: Int64 = 0
    var deleteDue: Int64 = 0
    var wakeDue: Int64 = 0
    var missedBytes: UInt64 = 0
    var history = History()
    var seen: UInt32 = 0
    var flags: ConnectionFlags = []
    var transport: TransportProtocol = .unknown
    var tcpState: TCPState = .none
    var lastReported: UInt8 = 0

    var origIsA: Bool { flags.contains(.origIsA) }

    /// The earliest pending timer's due time, or 0.
    var nextDue: Int64 {
        var d = inactivityDue
        if attemptDue != 0, d == 0 || attemptDue < d { d = attemptDue }
        if expireDue != 0, d == 0 || expireDue < d { d = expireDue }
        if expire2Due != 0, d == 0 || expire2Due < d { d = expire2Due }
        if deleteDue != 0, d == 0 || deleteDue < d { d = deleteDue }
        return d
    }
}
