/// Reassembles IPv4 and IPv6 fragments into whole datagrams (RFC 791, RFC 8200 §4.5), with
/// bounded memory: only fragments are copied, and only until their datagram completes.
///
/// Overlaps keep the bytes that arrived first, as Zeek's fragment reassembler does; an
/// overlap whose bytes differ is counted (``Statistics/overlapsDifferent``). A datagram is
/// dropped, and counted, when it would exceed 65,535 bytes, takes more than
/// ``Limits/maxFragments`` fragments, waits longer than ``Limits/timeout``, or when all
/// datagrams together would hold more than ``Limits/maxBufferedBytes`` (the oldest go first).
public struct IPReassembler: Sendable {
    /// The bounds.
    public struct Limits: Sendable, Hashable {
        /// Fragments one datagram may take (teardrop- and tiny-fragment floods stop here).
        public var maxFragments = 1024
        /// Bytes held by all incomplete datagrams together.
        public var maxBufferedBytes = 32 << 20
        /// Nanoseconds an incomplete datagram waits for its other fragments (packet time).
        public var timeout: Int64 = 60_000_000_000
        /// The default bounds: 1024 fragments, 32 MiB, 60 s.
        public init() {}
    }

    /// What happened to fragments.
    public struct Statistics: Sendable, Hashable {
        /// Fragments taken.
        public var fragments = 0
        /// Datagrams completed.
        public var reassembled = 0
        /// Datagrams dropped because their other fragments did not come in time.
        public var timedOut = 0
        /// Datagrams dropped to stay within the buffer bound.
        public var evicted = 0
        /// Datagrams dropped for more than the allowed fragments.
        public var tooManyFragments = 0
        /// Datagrams dropped because they would exceed 65,535 bytes.
        public var oversized = 0
        /// Fragments not taken: cut by the snapshot length, or a bad IPv4 header checksum.
        public var unusable = 0
        /// Overlapping fragments whose bytes differ from what arrived first.
        public var overlapsDifferent = 0
        /// No counts yet.
        public init() {}
    }

    struct Key: Hashable {
        var source: IPAddress
        var destination: IPAddress
        var identification: UInt32
        var protocolNumber: UInt8
    }

    struct Datagram {
        /// The IP header (and IPv6's unfragmentable part) of the fragment at offset 0.
        var header: [UInt8] = []
        var data: [UInt8] = []
        /// Received ranges of `data`, sorted, not overlapping.
        var ranges: [Range<Int>] = []
        /// The fragmentable part's length, once the last fragment was seen.
        var total: Int?
        var firstSeen: Int64
        var fragments = 0
        var version: UInt8
        var nextHeaderAt = 0
        var nextHeader: UInt8 = 0
    }

    /// The bounds in force.
    public var limits: Limits
    /// The counts so far.
    public private(set) var statistics = Statistics()
    var datagrams: [Key: Datagram] = [:]
    var buffered = 0
    var lastSweep: Int64 = .min

    /// A reassembler with the given bounds.
    public init(limits: Limits = Limits()) { self.limits = limits }

    /// Incomplete datagrams held.
    public var pending: Int { datagrams.count }

    /// Takes a fragment (`packet`, decoded from `frame`, with ``Layers/fragment``) seen at
    /// `time` (ns); returns the whole datagram — an IP header and its payload, as a raw-IP
    /// frame — when this fragment completes it.
    public mutating func add(_ frame: Span<UInt8>, _ packet: DecodedPacket, time: Int64) -> [UInt8]? {
        sweep(time)
        let ip = packet.ipOffset
        let unfragmentable = Int(packet.fragmentHeaderOffset) + (packet.ipVersion == 6 ? 8 : 0)
        let end = ip + packet.ipTotalLength
        guard packet.ipVersion == 4 || packet.ipVersion == 6, unfragmentable > 0, end <= frame.count,
              ip + unfragmentable <= end, packet.ipChecksum != .bad
        else { statistics.unusable += 1; return nil }
        statistics.fragments += 1
        let key = Key(source: packet.source, destination: packet.destination, identification: packet.fragmentIdentification,
                      protocolNumber: packet.ipVersion == 4 ? packet.ipProtocol.rawValue : 0)
        let start = packet.fragmentOffset, length = end - ip - unfragmentable
        guard start + length <= 65_535 else {
            drop(key)
            statistics.oversized += 1
            return nil
        }
        var d = datagrams[key] ?? Datagram(firstSeen: time, version: packet.ipVersion)
        datagrams[key] = nil  // edited outside the table, put back below
        d.fragments += 1
        guard d.fragments <= limits.maxFragments else {
            buffered -= d.data.count + d.header.count
            statistics.tooManyFragments += 1
            return nil
        }
        if start == 0, d.header.isEmpty {
            let headerLength = packet.ipVersion == 4 ? unfragmentable : Int(packet.fragmentHeaderOffset)
            d.header = Array(repeating: 0, count: headerLength)
            for i in 0..<headerLength { d.header[i] = frame[ip + i] }
            d.nextHeaderAt = Int(packet.fragmentNextHeaderAt)
            d.nextHeader = packet.fragmentNextHeader
            buffered += headerLength
        }
        if !packet.moreFragments { d.total = start + length }
        if d.data.count < start + length {
            buffered += start + length - d.data.count
            d.data.append(contentsOf: repeatElement(0, count: start + length - d.data.count))
        }
        // First-seen bytes win; a different byte where an earlier fragment already wrote counts once.
        let source = ip + unfragmentable
        var differs = false
        let stop = start + length
        var position = start
        for r in d.ranges where r.upperBound > start && r.lowerBound < stop {
            while position < min(r.lowerBound, stop) { d.data[position] = frame[source + position - start]; position += 1 }
            let coveredEnd = min(r.upperBound, stop)
            while position < coveredEnd {
                if d.data[position] != frame[source + position - start] { differs = true }
                position += 1
            }
        }
        while position < stop { d.data[position] = frame[source + position - start]; position += 1 }
        if differs { statistics.overlapsDifferent += 1 }
        if length > 0 { insert(start..<(start + length), into: &d.ranges) }
        if let total = d.total, !d.header.isEmpty,
           total == 0 || (d.ranges.first.map { $0.lowerBound == 0 && $0.upperBound >= total } ?? false) {
            buffered -= d.data.count + d.header.count
            statistics.reassembled += 1
            return Self.build(d, total: total)
        }
        datagrams[key] = d
        while buffered > limits.maxBufferedBytes, let oldest = datagrams.min(by: { $0.value.firstSeen < $1.value.firstSeen })?.key {
            drop(oldest)
            statistics.evicted += 1
        }
        return nil
    }

    /// Adds a range to a sorted list of disjoint ranges, merging neighbours.
    func insert(_ r: Range<Int>, into ranges: inout [Range<Int>]) {
        var merged = r
        var kept: [Range<Int>] = []
        for x in ranges {
            if x.upperBound < merged.lowerBound || x.lowerBound > merged.upperBound { kept.append(x) } else {
                merged = min(x.lowerBound, merged.lowerBound)..<max(x.upperBound, merged.upperBound)
            }
        }
        kept.append(merged)
        ranges = kept.sorted { $0.lowerBound < $1.lowerBound }
    }

    mutating func drop(_ key: Key) {
        if let d = datagrams.removeValue(forKey: key) { buffered -= d.data.count + d.header.count }
    }

    /// Drops datagrams that waited past the timeout by packet time `time` (checked at most
    /// once a second); call it as time passes, fragments or not.
    public mutating func expire(at time: Int64) { sweep(time) }

    /// Drops datagrams past the timeout (checked at most once a second of packet time).
    mutating func sweep(_ time: Int64) {
        guard time &- lastSweep >= 1_000_000_000 || lastSweep == .min else { return }
        lastSweep = time
        for (key, d) in datagrams where time &- d.firstSeen > limits.timeout {
            drop(key)
            statistics.timedOut += 1
        }
    }

    /// The whole datagram: the first fragment's header with the fragment fields cleared
    /// and the lengths (and the IPv4 header checksum) set anew, then the data.
    static func build(_ d: Datagram, total: Int) -> [UInt8] {
        var out = d.header
        if d.version == 4 {
            let length = out.count + total
            out[2] = UInt8(truncatingIfNeeded: length >> 8); out[3] = UInt8(truncatingIfNeeded: length)
            out[6] &= 0x40; out[7] = 0  // keep DF; clear MF and the offset
            out[10] = 0; out[11] = 0
            let sum = ~Checksum.fold(Checksum.sum(out.span, 0, out.count))
            out[10] = UInt8(truncatingIfNeeded: sum >> 8); out[11] = UInt8(truncatingIfNeeded: sum)
        } else {
            let payload = out.count - 40 + total
            out[4] = UInt8(truncatingIfNeeded: payload >> 8); out[5] = UInt8(truncatingIfNeeded: payload)
            if d.nextHeaderAt < out.count { out[d.nextHeaderAt] = d.nextHeader }
        }
        out.append(contentsOf: d.data[0..<total])
        return out
    }
}
