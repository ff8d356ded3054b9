/// How a ``ConnectionTable`` decides orientation, validity and expiry.
///
/// The defaults are Zeek's (`scripts/base/init-bare.zeek`, Docs/ZeekSemantics.md §8.1).
/// Times are in seconds.
public struct TrackerConfiguration: Sendable {
    /// Which timeouts remove connections.
    public enum TimeoutProfile: Sendable, Hashable {
        /// Zeek's: attempt, close delay, expire and inactivity timers.
        case zeek
        /// Linux conntrack's: one timeout per kernel state (Docs/Conntrack.md §4).
        case conntrack
    }

    /// Which timeouts apply.
    public var profile: TimeoutProfile = .zeek
    /// Verify IPv4, TCP, UDP and ICMP checksums; packets with bad ones record `C`/`c`
    /// (TCP, UDP) and are otherwise ignored, as Zeek does without `-C`. The default is
    /// the decoder's (`PacketDecoder.verifiesChecksumsByDefault`), so the two agree.
    public var verifyChecksums = PacketDecoder.verifiesChecksumsByDefault
    /// Zeek's `ignore_checksums_nets`: packets whose IP source address is in one of these
    /// networks are not checksum-verified (IPv4 header, TCP, UDP, ICMP), whatever
    /// ``verifyChecksums`` says. `nil` (the default) exempts nothing.
    public var ignoreChecksumNetworks: LocalNetworks?
    /// Zeek's `vlan_fivetuple` connection key: the outer and inner VLAN IDs of a packet
    /// are part of its connection's key, so the same 5-tuple on two VLANs is two
    /// connections. Records then carry ``Connection/vlan`` and ``Connection/innerVLAN``.
    public var vlanInKey = false
    /// Zeek's vlan-logging: records carry the VLAN IDs of the packet that created the
    /// connection (``Connection/vlan``, ``Connection/innerVLAN``).
    public var recordVLANs = false
    /// Zeek's mac-logging: records carry the link-layer addresses of the packet that
    /// created the connection (``Connection/originatorL2Address``, swapped by flips).
    public var recordL2Addresses = false
    /// Whether SCTP associations are keyed by their ports. Zeek has no SCTP analyzer and
    /// keys SCTP like any other protocol it does not analyse (ports 0, so every
    /// association between two hosts is one connection, and the Community ID hashes
    /// zero ports); conntrack keys SCTP by its ports. `nil` (the default) follows the
    /// profile: ports 0 for ``TimeoutProfile/zeek``, ports for ``TimeoutProfile/conntrack``.
    public var sctpPorts: Bool?
    /// Whether to record Zeek's tunnel.log lines (DISCOVER, CLOSE, EXPIRE), taken with
    /// ``ConnectionTable/takeTunnelRecords()``.
    public var tunnelLog = false
    /// Whether IP fragments are reassembled before tracking (as Zeek does), so a datagram
    /// counts once with its whole length; off, first fragments stand for their datagrams
    /// and later ones are not attributed.
    public var reassembleFragments = true
    /// Zeek's DNS and NTP analyzers turn a connection around when its first message shows
    /// the originator is the server (a DNS response, an NTP server-mode message), and
    /// end UDP DNS connections after 10 s of quiet (`dns_session_timeout`). On by default
    /// in the ``TimeoutProfile/zeek`` profile; they read a few header bytes only.
    public var analyzerFlips = true
    /// `tcp_inactivity_timeout`: TCP once out of the handshake.
    public var tcpInactivityTimeout: Double = 300
    /// `udp_inactivity_timeout`: UDP, and TCP while both sides are in handshake states.
    public var udpInactivityTimeout: Double = 60
    /// `icmp_inactivity_timeout`.
    public var icmpInactivityTimeout: Double = 60
    /// `unknown_ip_inactivity_timeout`.
    public var unknownInactivityTimeout: Double = 60
    /// `tcp_attempt_delay`: an unanswered SYN is removed (S0) after this.
    public var tcpAttemptDelay: Double = 5
    /// `tcp_close_delay`: a completely closed connection is removed after this.
    public var tcpCloseDelay: Double = 5
    /// `tcp_SYN_timeout`: the first expire check after creation.
    public var tcpSYNTimeout: Double = 5
    /// `tcp_session_timer`: the interval of later expire checks.
    public var tcpSessionTimer: Double = 6
    /// `tcp_connection_linger`: quiet time the expire check requires.
    public var tcpConnectionLinger: Double = 5
    /// TCP service ports given a long inactivity timeout once established (inactivity.zeek).
    public var longLivedPorts: Set<UInt16> = [21, 22, 23, 513]
    /// The long inactivity timeout.
    public var longLivedTimeout: Double = 3600
    /// At most this many connections are tracked at once; beyond it the idlest of
    /// eight sampled connections (oldest last packet) is ended with reason `eviction`.
    /// The default, one million, bounds the tracker at about 250 MB (measured:
    /// 242–245 bytes per connection with the table index and timer wheel).
    public var maxFlows: Int = 1_000_000
    /// Threads for `FlowTracker` runs over files: 1 (the default) reads, decodes and tracks
    /// on the calling thread. With N > 1 the calling thread reads and decodes, and N − 1
    /// threads track, each its own table of the connections a symmetric hash of the 5-tuple
    /// gives it; events come in the same order and with the same uids as with one thread.
    /// ``maxFlows`` is then shared out among the tables.
    public var threads: Int = 1
    /// The Community ID seed.
    public var communityIDSeed: UInt16 = 0
    /// Whether records carry a Community ID (one SHA-1 per connection); empty when off.
    public var computeCommunityID = true
    /// Networks counted as local for `local_orig`/`local_resp`; `nil` leaves both unset.
    public var localNetworks: LocalNetworks? = .zeekDefault
    /// The ports that orient connections whose first packet is not a plain SYN.
    public var likelyServerPorts: LikelyServerPorts = .zeekDefault
    /// Seed for connection uids: the same seed and input give the same uids. `nil`
    /// derives the seed from the first packet's timestamp, so running twice over the
    /// same capture (`conn`, then `extract --uid`) gives the same uids, while captures
    /// taken at different times get different ones.
    public var uidSeed: UInt64?
    /// Which events the tracker builds records for.
    public var events: EventKinds = [.ended]
    /// Whether to follow the Linux-conntrack-style TCP state (``Connection/tcpState``).
    /// Off, records carry `nil` there and TCP packets skip the conntrack state table, for
    /// output that does not show it (Zeek's columns); the ``TimeoutProfile/conntrack``
    /// profile needs the state and follows it regardless.
    public var kernelStates = true

    /// Zeek's defaults.
    public init() {}

    /// The conntrack timeout for a TCP state, in seconds (Docs/Conntrack.md §4).
    public static func conntrackTimeout(_ state: TCPState) -> Double {
        switch state {
        case .initial, .synSent, .synSent2: return 120
        case .synReceived: return 60
        case .established: return 432_000
        case .finWait: return 120
        case .closeWait: return 60
        case .lastAck: return 30
        case .timeWait: return 120
        case .close: return 10
        case .invalid, .ignore: return 120
        }
    }
}

/// Counts of what a tracker did with the packets it was given.
public struct TrackerStatistics: Sendable, Hashable {
    /// Packets handed to the tracker.
    public var packets = 0
    /// Packets attributed to a connection.
    public var tracked = 0
    /// Packets without an IP layer.
    public var nonIP = 0
    /// Malformed packets (not tracked).
    public var malformed = 0
    /// Packets with a bad IPv4 header checksum (not tracked).
    public var badIPChecksums = 0
    /// Non-first IP fragments (no ports; not reassembled, not tracked).
    public var fragments = 0
    /// Packets whose transport header is missing or cut short (not tracked).
    public var truncatedTransport = 0
    /// TCP, UDP and ICMP packets whose checksum was verified (good or bad).
    public var verifiedTransportChecksums = 0
    /// TCP, UDP and ICMP packets whose checksum was bad (ignored but for the `C` letter).
    public var badTransportChecksums = 0
    /// IPv6 packets whose analysis ends without a connection, as Zeek's does: ESP, no next
    /// header (Teredo bubbles), the mobility header.
    public var withoutConnection = 0
    /// Packets that came through at least one tunnel (their inner packets were tracked).
    public var tunnelled = 0
    /// Packets whose timestamp is earlier than an earlier packet's. Timers never run
    /// backwards: network time stays at the latest timestamp seen.
    public var timeWentBackwards = 0
    /// The most by which a packet's time went backwards, in nanoseconds.
    public var largestBackwardStep: Int64 = 0
    /// Packets whose VLAN pair found no room among the 65 535 pairs a VLAN-aware key
    /// tells apart; they share one context (only with ``TrackerConfiguration/vlanInKey``).
    public var vlanContextOverflows = 0
    /// Connections created.
    public var connections = 0
    /// Connections ended per reason.
    public var ended: [EndReason: Int] = [:]
    /// Connections ended to respect `maxFlows`.
    public var evictions: Int { ended[.eviction, default: 0] }
    /// The most connections tracked at once. Summed over the tables of a run with
    /// several threads, it is the sum of each table's peak: at least the true peak.
    public var peakFlows = 0

    /// No counts yet.
    public init() {}

    /// Adds the counts of another table (a shard of the same capture): sums, the larger
    /// backward step, and the peaks summed.
    public mutating func merge(_ other: TrackerStatistics) {
        packets += other.packets; tracked += other.tracked; nonIP += other.nonIP; malformed += other.malformed
        badIPChecksums += other.badIPChecksums; fragments += other.fragments; truncatedTransport += other.truncatedTransport
        verifiedTransportChecksums += other.verifiedTransportChecksums; badTransportChecksums += other.badTransportChecksums
        withoutConnection += other.withoutConnection; tunnelled += other.tunnelled
        timeWentBackwards += other.timeWentBackwards; largestBackwardStep = max(largestBackwardStep, other.largestBackwardStep)
        vlanContextOverflows += other.vlanContextOverflows; connections += other.connections
        for (reason, n) in other.ended { ended[reason, default: 0] += n }
        peakFlows += other.peakFlows
    }
}

extension TrackerStatistics {
    /// The share of verified TCP, UDP and ICMP checksums past which a capture is taken to
    /// carry offloaded checksums (Zeek's find-checksum-offloading warns past 5 %).
    public static let badChecksumWarningShare = 0.05

    /// What looks wrong with the input, one sentence each with what to do about it:
    /// most checksums bad (offloading; `flag` names the option that ignores them),
    /// time going backwards. Empty when nothing does.
    public func warnings(checksumsIgnoredBy flag: String) -> [String] {
        var out: [String] = []
        if badTransportChecksums > 0,
           Double(badTransportChecksums) > Self.badChecksumWarningShare * Double(verifiedTransportChecksums) {
            let percent = Int((100 * Double(badTransportChecksums) / Double(verifiedTransportChecksums)).rounded())
            out.append("\(badTransportChecksums) of \(verifiedTransportChecksums) TCP/UDP/ICMP checksums (\(percent) %) are bad: "
                + "the capture most likely has offloaded checksums (NIC offloading, loopback), and packets with bad checksums "
                + "are ignored as Zeek ignores them; run again with \(flag) to ignore checksums")
        }
        if timeWentBackwards > 0 {
            let ms = Double(largestBackwardStep) / 1e6
            out.append("packet time went backwards \(timeWentBackwards) time\(timeWentBackwards == 1 ? "" : "s") (by up to \(ms) ms); "
                + "timers kept the latest time seen, so nothing ended early, but rows near those packets may differ from "
                + "a capture in order: sort it first (reordercap) if that matters")
        }
        if vlanContextOverflows > 0 {
            out.append("\(vlanContextOverflows) packets carried VLAN pairs beyond the 65535 a VLAN-aware key tells apart; they share one key")
        }
        return out
    }
}
