/// The output formats for connection records.
public enum ConnectionFormat: String, Sendable, CaseIterable {
    /// Aligned columns for people, like `netstat -n`.
    case table
    /// Zeek's ASCII conn.log (TSV with `#` headers).
    case zeek
    /// JSON Lines with Zeek's field names.
    case json
    /// CSV with a header row (RFC 4180).
    case csv
}

extension ConnectionFormat {
    /// One connection as one row of this format, ending in a line break; `nil` for
    /// ``table``, which aligns all its rows at once (``NetstatTable``).
    public func rowBytes(_ c: Connection, columns: ConnLogColumns) -> [UInt8]? {
        guard self != .table else { return nil }
        var out: [UInt8] = []
        append(c, columns: columns, to: &out)
        return Array(out[...])  // without the spare capacity the row was written with
    }

    /// Appends one connection as one row of this format to `out` (nothing for ``table``):
    /// the allocation-free form of ``rowBytes(_:columns:)`` for writing many rows.
    public func append(_ c: Connection, columns: ConnLogColumns, to out: inout [UInt8]) {
        switch self {
        case .table: return
        case .zeek: ZeekLogWriter(columns: columns).append(c, to: &out)
        case .json: JSONLinesWriter(columns: columns).append(c, to: &out)
        case .csv: CSVWriter(columns: columns).append(c, to: &out)
        }
    }
}

/// A conn.log or port-summary column. A plain enum case, so naming the column of a field costs nothing
/// (the Zeek and CSV writers never look at it); JSON copies its key, built once.
enum FieldName: Int, Sendable, CaseIterable {
    case ts, uid, idOrigH, idOrigP, idRespH, idRespP, proto, service, duration, origBytes, respBytes, connState
    case localOrig, localResp, missedBytes, history, origPkts, origIpBytes, respPkts, respIpBytes, tunnelParents
    case ipProto, communityId, tcpState, endReason, origPayloadBytes, respPayloadBytes, origRetransmissions
    case respRetransmissions
    // The port summary's own columns (`flowtrack ports`), after `proto` and `service`.
    case port, connections, established, closed, rejected, reset, halfOpen, attempt, other, clients
    case bytesToServer, bytesFromServer, packetsToServer, packetsFromServer
    // Columns of Zeek's policy scripts (conn_key vlan_fivetuple, mac-logging, vlan-logging).
    case idCtxVlan, idCtxInnerVlan, origL2Addr, respL2Addr, vlan, innerVlan

    /// The column's name.
    var text: String {
        switch self {
        case .ts: "ts"
        case .uid: "uid"
        case .idOrigH: "id.orig_h"
        case .idOrigP: "id.orig_p"
        case .idRespH: "id.resp_h"
        case .idRespP: "id.resp_p"
        case .proto: "proto"
        case .service: "service"
        case .duration: "duration"
        case .origBytes: "orig_bytes"
        case .respBytes: "resp_bytes"
        case .connState: "conn_state"
        case .localOrig: "local_orig"
        case .localResp: "local_resp"
        case .missedBytes: "missed_bytes"
        case .history: "history"
        case .origPkts: "orig_pkts"
        case .origIpBytes: "orig_ip_bytes"
        case .respPkts: "resp_pkts"
        case .respIpBytes: "resp_ip_bytes"
        case .tunnelParents: "tunnel_parents"
        case .ipProto: "ip_proto"
        case .communityId: "community_id"
        case .tcpState: "tcp_state"
        case .endReason: "end_reason"
        case .origPayloadBytes: "orig_payload_bytes"
        case .respPayloadBytes: "resp_payload_bytes"
        case .origRetransmissions: "orig_retransmissions"
        case .respRetransmissions: "resp_retransmissions"
        case .port: "port"
        case .connections: "connections"
        case .established: "established"
        case .closed: "closed"
        case .rejected: "rejected"
        case .reset: "reset"
        case .halfOpen: "half_open"
        case .attempt: "attempt"
        case .other: "other"
        case .clients: "clients"
        case .bytesToServer: "bytes_to_server"
        case .bytesFromServer: "bytes_from_server"
        case .packetsToServer: "packets_to_server"
        case .packetsFromServer: "packets_from_server"
        case .idCtxVlan: "id.ctx.vlan"
        case .idCtxInnerVlan: "id.ctx.inner_vlan"
        case .origL2Addr: "orig_l2_addr"
        case .respL2Addr: "resp_l2_addr"
        case .vlan: "vlan"
        case .innerVlan: "inner_vlan"
        }
    }

    /// `"name":` as UTF-8, by raw value.
    static let jsonKeys: [[UInt8]] = allCases.map { Array("\"\($0.text)\":".utf8) }
}

/// Receives one row's fields in column order and writes them into the row's
/// output span; each format implements it.
///
/// A row is written into one span sized beforehand (``appendRow(to:textBytes:_:)``):
/// no field checks the array's capacity or uniqueness, which per byte would cost more
/// than the byte itself.
protocol FieldWriter {
    /// An empty row.
    init()
    /// At most how many bytes one UTF-8 byte of a ``text(_:_:_:)`` field becomes (escapes).
    static var textExpansion: Int { get }
    /// A text field (escaped by the format).
    mutating func text(_ name: FieldName, _ value: String, _ out: inout OutputSpan<UInt8>)
    /// A text field FlowTrack itself spells (an enum's name: letters, digits, `_`), so
    /// no format needs to escape or quote it beyond JSON's quotes.
    mutating func word(_ name: FieldName, _ value: String, _ out: inout OutputSpan<UInt8>)
    /// An unsigned integer.
    mutating func count(_ name: FieldName, _ value: UInt64, _ out: inout OutputSpan<UInt8>)
    /// Seconds with 6 decimals from nanoseconds (Zeek's `time` and `interval`).
    mutating func seconds(_ name: FieldName, _ nanoseconds: Int64, _ out: inout OutputSpan<UInt8>)
    /// A boolean.
    mutating func bool(_ name: FieldName, _ value: Bool, _ out: inout OutputSpan<UInt8>)
    /// An unset field.
    mutating func unset(_ name: FieldName, _ out: inout OutputSpan<UInt8>)
    /// An IP address.
    mutating func address(_ name: FieldName, _ value: IPAddress, _ out: inout OutputSpan<UInt8>)
    /// A non-empty set of words (Zeek's `set[string]`: `,`-joined, a JSON array).
    mutating func words(_ name: FieldName, _ values: [String], _ out: inout OutputSpan<UInt8>)
}

extension FieldWriter {
    /// The most bytes a field takes besides the UTF-8 bytes of its text: a separator or
    /// JSON key (`,"resp_retransmissions":` is 24), quotes, and any number (20 digits),
    /// time (a sign, 13 digits, a point and 6 decimals), boolean or address (39).
    static var maxFieldBytes: Int { 72 }

    /// Appends one row to `out`, in one span with room for every column (each at most
    /// once) and `textBytes` UTF-8 bytes of text and word fields after escaping.
    /// `fields` must count every byte of text it writes in `textBytes`.
    static func appendRow(to out: inout [UInt8], textBytes: Int,
                          _ fields: (inout Self, inout OutputSpan<UInt8>) -> Void) {
        out.append(addingCapacity: FieldName.allCases.count * maxFieldBytes + textExpansion * textBytes) { span in
            var w = Self()
            fields(&w, &span)
        }
    }
}

extension OutputSpan where Element == UInt8 {
    /// The decimal digits of `value`, most significant first.
    mutating func appendDecimal(_ value: UInt64) {
        var digits = InlineArray<20, UInt8>(repeating: 48)
        var i = 20, v = value
        repeat {
            i -= 1
            digits[i] = 48 + UInt8(truncatingIfNeeded: v % 10)
            v /= 10
        } while v > 0
        while i < 20 { append(digits[i]); i += 1 }
    }

    /// `seconds.micro` rounded to the microsecond, as Zeek prints times.
    mutating func appendSeconds(_ nanoseconds: Int64) {
        var micros = nanoseconds >= 0 ? (nanoseconds + 500) / 1000 : -((-nanoseconds + 500) / 1000)
        if micros < 0 { append(45); micros = -micros }
        appendDecimal(UInt64(micros / 1_000_000))
        append(46)
        var fraction = micros % 1_000_000
        var digits = InlineArray<6, UInt8>(repeating: 48)
        for i in (0..<6).reversed() {
            digits[i] = 48 + UInt8(truncatingIfNeeded: fraction % 10)
            fraction /= 10
        }
        for i in 0..<6 { append(digits[i]) }
    }

    /// The UTF-8 bytes of `s` as they are.
    mutating func appendUTF8(_ s: String) {
        var s = s
        s.makeContiguousUTF8()
        let bytes = s.utf8.span
        for i in bytes.indices { append(bytes[i]) }
    }

    /// The bytes of `a` as they are.
    mutating func appendBytes(_ a: [UInt8]) {
        for byte in a { append(byte) }
    }
}

/// Fields in a row of text separated by one byte (Zeek's TSV, CSV): the formats
/// differ only in the separator, the escaping of text and how an unset field reads.
protocol DelimitedFields: FieldWriter {
    /// The byte between fields.
    static var separator: UInt8 { get }
    /// Writes `value` escaped for the format.
    static func escape(_ value: String, into out: inout OutputSpan<UInt8>)
    /// Writes an unset field's text (after its separator).
    static func writeUnset(into out: inout OutputSpan<UInt8>)
    /// Whether no field has been written yet.
    var first: Bool { get set }
}

extension DelimitedFields {
    @inline(__always) mutating func separate(_ out: inout OutputSpan<UInt8>) {
        if first { first = false } else { out.append(Self.separator) }
    }
    @inline(__always) mutating func text(_ name: FieldName, _ value: String, _ out: inout OutputSpan<UInt8>) {
        separate(&out); Self.escape(value, into: &out)
    }
    @inline(__always) mutating func word(_ name: FieldName, _ value: String, _ out: inout OutputSpan<UInt8>) {
        separate(&out); out.appendUTF8(value)
    }
    @inline(__always) mutating func count(_ name: FieldName, _ value: UInt64, _ out: inout OutputSpan<UInt8>) {
        separate(&out); out.appendDecimal(value)
    }
    @inline(__always) mutating func seconds(_ name: FieldName, _ nanoseconds: Int64, _ out: inout OutputSpan<UInt8>) {
        separate(&out); out.appendSeconds(nanoseconds)
    }
    @inline(__always) mutating func bool(_ name: FieldName, _ value: Bool, _ out: inout OutputSpan<UInt8>) {
        separate(&out); out.append(value ? 84 : 70)  // T, F
    }
    @inline(__always) mutating func unset(_ name: FieldName, _ out: inout OutputSpan<UInt8>) {
        separate(&out); Self.writeUnset(into: &out)
    }
    @inline(__always) mutating func address(_ name: FieldName, _ value: IPAddress, _ out: inout OutputSpan<UInt8>) {
        separate(&out); value.appendText(to: &out)
    }
    mutating func words(_ name: FieldName, _ values: [String], _ out: inout OutputSpan<UInt8>) {
        separate(&out); Self.escape(values.joined(separator: ","), into: &out)
    }
}

/// Zeek ASCII TSV fields.
struct ZeekFields: DelimitedFields {
    static var textExpansion: Int { 4 }  // \xNN
    static var separator: UInt8 { 9 }
    static func escape(_ value: String, into out: inout OutputSpan<UInt8>) { Escaping.zeek(value, into: &out) }
    static func writeUnset(into out: inout OutputSpan<UInt8>) { out.append(45) }  // -
    var first = true
}

/// CSV fields (RFC 4180); unset fields are empty.
struct CSVFields: DelimitedFields {
    static var textExpansion: Int { 2 }  // doubled quotes
    static var separator: UInt8 { 44 }
    static func escape(_ value: String, into out: inout OutputSpan<UInt8>) { Escaping.csv(value, into: &out) }
    static func writeUnset(into out: inout OutputSpan<UInt8>) {}
    var first = true
}

/// JSON object fields; unset fields are left out, as Zeek's JSON writer does.
struct JSONFields: FieldWriter {
    static var textExpansion: Int { 6 }  // \u00XX
    var first = true
    mutating func key(_ name: FieldName, _ out: inout OutputSpan<UInt8>) {
        out.append(first ? 123 : 44)
        first = false
        out.appendBytes(FieldName.jsonKeys[name.rawValue])  // column names need no escaping
    }
    mutating func text(_ name: FieldName, _ value: String, _ out: inout OutputSpan<UInt8>) {
        key(name, &out); Escaping.json(value, into: &out)
    }
    mutating func word(_ name: FieldName, _ value: String, _ out: inout OutputSpan<UInt8>) {
        key(name, &out); out.append(34); out.appendUTF8(value); out.append(34)
    }
    mutating func count(_ name: FieldName, _ value: UInt64, _ out: inout OutputSpan<UInt8>) {
        key(name, &out); out.appendDecimal(value)
    }
    mutating func seconds(_ name: FieldName, _ nanoseconds: Int64, _ out: inout OutputSpan<UInt8>) {
        key(name, &out); out.appendSeconds(nanoseconds)
    }
    mutating func bool(_ name: FieldName, _ value: Bool, _ out: inout OutputSpan<UInt8>) {
        key(name, &out)
        if value {
            out.append(116); out.append(114); out.append(117); out.append(101)  // true
        } else {
            out.append(102); out.append(97); out.append(108); out.append(115); out.append(101)  // false
        }
    }
    mutating func unset(_ name: FieldName, _ out: inout OutputSpan<UInt8>) {}
    mutating func address(_ name: FieldName, _ value: IPAddress, _ out: inout OutputSpan<UInt8>) {
        key(name, &out); out.append(34); value.appendText(to: &out); out.append(34)
    }
    mutating func words(_ name: FieldName, _ values: [String], _ out: inout OutputSpan<UInt8>) {
        key(name, &out)
        out.append(91)  // [
        for (i, value) in values.enumerated() {
            if i > 0 { out.append(44) }
            Escaping.json(value, into: &out)
        }
        out.append(93)  // ]
    }
}

/// The conn.log columns (Docs/ZeekSemantics.md §0), written the same way for every format.
public struct ConnLogColumns: Sendable {
    /// Columns that Zeek's policy scripts add, in every format.
    public struct Policies: OptionSet, Sendable, Hashable {
        /// The option set's bits.
        public var rawValue: UInt8
        /// Creates a set from its bits.
        public init(rawValue: UInt8) { self.rawValue = rawValue }
        /// `id.ctx.vlan` and `id.ctx.inner_vlan` after `id.resp_p` (conn_key `vlan_fivetuple`).
        public static let vlanContext = Policies(rawValue: 1)
        /// `orig_l2_addr` and `resp_l2_addr` (mac-logging).
        public static let l2Addresses = Policies(rawValue: 2)
        /// `vlan` and `inner_vlan` (vlan-logging).
        public static let vlan = Policies(rawValue: 4)
    }

    /// Whether to add the `community_id` column.
    public var communityID: Bool
    /// Whether to add FlowTrack's own columns (JSON and CSV only): `tcp_state`,
    /// `end_reason`, payload bytes and retransmissions per direction.
    public var extras: Bool
    /// The policy-script columns to add. They follow `community_id` in the order of the
    /// scripts' names (mac-logging, then vlan-logging), as when Zeek loads them in that
    /// order; the VLAN key's two columns sit inside the connection id, as in Zeek.
    public var policies: Policies

    /// Creates a column set.
    public init(communityID: Bool = false, extras: Bool = true, policies: Policies = []) {
        self.communityID = communityID
        self.extras = extras
        self.policies = policies
    }

    /// Zeek's own columns, `ts` to `ip_proto`.
    static let zeekNames = FieldName.allCases[...FieldName.ipProto.rawValue].map(\.text)
    static let zeekTypes = ["time", "string", "addr", "port", "addr", "port", "enum", "string", "interval", "count", "count",
                            "string", "bool", "bool", "count", "string", "count", "count", "count", "count", "set[string]", "count"]
    /// FlowTrack's own columns (JSON and CSV), `tcp_state` to `resp_retransmissions`.
    static let extraNames =
        FieldName.allCases[FieldName.tcpState.rawValue...FieldName.respRetransmissions.rawValue].map(\.text)

    /// Column names, in order.
    public func names(zeek: Bool) -> [String] {
        var names = Self.zeekNames
        if policies.contains(.vlanContext) {
            names.insert(contentsOf: [FieldName.idCtxVlan.text, FieldName.idCtxInnerVlan.text], at: FieldName.idRespP.rawValue + 1)
        }
        return names + policyNames + (extras && !zeek ? Self.extraNames : [])
    }

    /// Zeek's types of the columns, in order.
    var zeekTypes: [String] {
        var types = Self.zeekTypes
        if policies.contains(.vlanContext) { types.insert(contentsOf: ["int", "int"], at: FieldName.idRespP.rawValue + 1) }
        if communityID { types.append("string") }
        if policies.contains(.l2Addresses) { types += ["string", "string"] }
        if policies.contains(.vlan) { types += ["int", "int"] }
        return types
    }

    /// The names of the columns after `ip_proto` that Zeek's scripts add.
    var policyNames: [String] {
        var names: [String] = []
        if communityID { names.append(FieldName.communityId.text) }
        if policies.contains(.l2Addresses) { names += [FieldName.origL2Addr.text, FieldName.respL2Addr.text] }
        if policies.contains(.vlan) { names += [FieldName.vlan.text, FieldName.innerVlan.text] }
        return names
    }

    /// Appends one connection's fields in the format of `W` to `out` (the row's end is the caller's).
    func append<W: FieldWriter>(_ c: Connection, zeek: Bool, as _: W.Type, to out: inout [UInt8]) {
        W.appendRow(to: &out, textBytes: textBytes(c)) { w, span in write(c, zeek: zeek, to: &w, &span) }
    }

    /// The UTF-8 bytes of every text and word field ``write(_:zeek:to:_:)`` may write.
    func textBytes(_ c: Connection) -> Int {
        c.uid.utf8.count + (c.service?.utf8.count ?? 0) + c.history.utf8.count + c.communityID.utf8.count
            + c.transport.description.utf8.count + c.connState.description.utf8.count
            + (c.tcpState?.description.utf8.count ?? 0) + (c.endReason?.description.utf8.count ?? 0)
            + (policies.contains(.l2Addresses) ? 34 : 0)
            + c.tunnelParents.reduce(0) { $0 + $1.utf8.count + 3 }
    }

    /// An optional VLAN ID as an `int` column.
    func vlanField(_ name: FieldName, _ id: UInt16?, to w: inout some FieldWriter, _ out: inout OutputSpan<UInt8>) {
        if let id { w.count(name, UInt64(id), &out) } else { w.unset(name, &out) }
    }

    /// An optional MAC address as a `string` column.
    func l2Field(_ name: FieldName, _ address: MACAddress?, to w: inout some FieldWriter, _ out: inout OutputSpan<UInt8>) {
        if let address { w.word(name, address.description, &out) } else { w.unset(name, &out) }
    }

    /// Writes one connection's fields in column order (every text or word field
    /// counted in ``textBytes(_:)``).
    func write(_ c: Connection, zeek: Bool, to w: inout some FieldWriter, _ out: inout OutputSpan<UInt8>) {
        let duration = c.lastTime.nanoseconds - c.startTime.nanoseconds
        let hasDuration = duration > 0
        let o = c.originatorCounters, r = c.responderCounters
        w.seconds(.ts, c.startTime.nanoseconds, &out)
        w.text(.uid, c.uid, &out)
        w.address(.idOrigH, c.originator.address, &out)
        w.count(.idOrigP, UInt64(c.originator.port), &out)
        w.address(.idRespH, c.responder.address, &out)
        w.count(.idRespP, UInt64(c.responder.port), &out)
        if policies.contains(.vlanContext) {
            vlanField(.idCtxVlan, c.vlan, to: &w, &out)
            vlanField(.idCtxInnerVlan, c.innerVLAN, to: &w, &out)
        }
        w.word(.proto, c.transport.description, &out)
        if let service = c.service { w.text(.service, service, &out) } else { w.unset(.service, &out) }
        if hasDuration {
            w.seconds(.duration, duration, &out)
            w.count(.origBytes, o.bytes, &out)
            w.count(.respBytes, r.bytes, &out)
        } else {
            w.unset(.duration, &out); w.unset(.origBytes, &out); w.unset(.respBytes, &out)
        }
        w.word(.connState, c.connState.description, &out)
        if let l = c.localOriginator { w.bool(.localOrig, l, &out) } else { w.unset(.localOrig, &out) }
        if let l = c.localResponder { w.bool(.localResp, l, &out) } else { w.unset(.localResp, &out) }
        w.count(.missedBytes, c.missedBytes, &out)
        if c.history.isEmpty { w.unset(.history, &out) } else { w.text(.history, c.history, &out) }
        w.count(.origPkts, o.packets, &out)
        w.count(.origIpBytes, o.ipBytes, &out)
        w.count(.respPkts, r.packets, &out)
        w.count(.respIpBytes, r.ipBytes, &out)
        if c.tunnelParents.isEmpty { w.unset(.tunnelParents, &out) } else { w.words(.tunnelParents, c.tunnelParents, &out) }
        w.count(.ipProto, UInt64(c.ipProtocol), &out)
        if communityID { w.text(.communityId, c.communityID, &out) }
        if policies.contains(.l2Addresses) {
            l2Field(.origL2Addr, c.originatorL2Address, to: &w, &out)
            l2Field(.respL2Addr, c.responderL2Address, to: &w, &out)
        }
        if policies.contains(.vlan) {
            vlanField(.vlan, c.vlan, to: &w, &out)
            vlanField(.innerVlan, c.innerVLAN, to: &w, &out)
        }
        if extras && !zeek {
            if let s = c.tcpState { w.word(.tcpState, s.description, &out) } else { w.unset(.tcpState, &out) }
            if let e = c.endReason { w.word(.endReason, e.description, &out) } else { w.unset(.endReason, &out) }
            w.count(.origPayloadBytes, o.payloadBytes, &out)
            w.count(.respPayloadBytes, r.payloadBytes, &out)
            w.count(.origRetransmissions, o.retransmissions, &out)
            w.count(.respRetransmissions, r.retransmissions, &out)
        }
    }
}

/// A conn.log row writer: Zeek TSV, JSON Lines or CSV.
public protocol ConnLogRowWriter: Sendable {
    /// Appends one row, with the format's line end, to `out`.
    func append(_ c: Connection, to out: inout [UInt8])
}

extension ConnLogRowWriter {
    /// One row, as bytes ending in the format's line end.
    public func rowBytes(_ c: Connection) -> [UInt8] {
        var out: [UInt8] = []
        append(c, to: &out)
        return Array(out[...])  // without the spare capacity the row was written with
    }

    /// One row, as text ending in the format's line end.
    public func row(_ c: Connection) -> String { String(decoding: rowBytes(c), as: UTF8.self) }
}

/// Zeek ASCII conn.log writer.
public struct ZeekLogWriter: ConnLogRowWriter {
    /// The columns.
    public var columns: ConnLogColumns

    /// Creates a writer.
    public init(columns: ConnLogColumns) { self.columns = columns }

    /// The header lines; `opened` is the `#open` time as `YYYY-MM-DD-HH-MM-SS`.
    public func header(opened: String) -> String {
        var s = "#separator \\x09\n#set_separator\t,\n#empty_field\t(empty)\n#unset_field\t-\n#path\tconn\n#open\t\(opened)\n"
        s += "#fields\t" + columns.names(zeek: true).joined(separator: "\t") + "\n"
        s += "#types\t" + columns.zeekTypes.joined(separator: "\t") + "\n"
        return s
    }

    /// Appends one row, ending in a newline, to `out`.
    public func append(_ c: Connection, to out: inout [UInt8]) {
        columns.append(c, zeek: true, as: ZeekFields.self, to: &out)
        out.append(10)
    }

    /// The closing line.
    public func footer(closed: String) -> String { "#close\t\(closed)\n" }
}

/// JSON Lines writer, one object per connection with Zeek's field names; unset fields are omitted.
public struct JSONLinesWriter: ConnLogRowWriter {
    /// The columns.
    public var columns: ConnLogColumns

    /// Creates a writer.
    public init(columns: ConnLogColumns) { self.columns = columns }

    /// Appends one line, ending in a newline, to `out`.
    public func append(_ c: Connection, to out: inout [UInt8]) {
        columns.append(c, zeek: false, as: JSONFields.self, to: &out)
        out.append(125)
        out.append(10)
    }
}

/// CSV writer (RFC 4180): a header row, then one row per connection; unset fields are empty.
public struct CSVWriter: ConnLogRowWriter {
    /// The columns.
    public var columns: ConnLogColumns

    /// Creates a writer.
    public init(columns: ConnLogColumns) { self.columns = columns }

    /// The header row.
    public var header: String { columns.names(zeek: false).map(Escaping.csv).joined(separator: ",") + "\r\n" }

    /// Appends one row, ending in CRLF, to `out`.
    public func append(_ c: Connection, to out: inout [UInt8]) {
        columns.append(c, zeek: false, as: CSVFields.self, to: &out)
        out.append(13)
        out.append(10)
    }
}

/// Escaping rules of each format, so no byte from a packet or file name can break a row.
public enum Escaping {
    /// Zeek ASCII: control bytes (the tab separator among them) and backslash as `\xNN`;
    /// a field that would read as unset or empty is escaped too.
    public static func zeek(_ s: String) -> String {
        escaped(s, expansion: ZeekFields.textExpansion) { zeek(s, into: &$0) }
    }

    /// `s` escaped by `escape` into a span with room for `expansion` bytes per byte.
    static func escaped(_ s: String, expansion: Int, _ escape: (inout OutputSpan<UInt8>) -> Void) -> String {
        let bytes = [UInt8](capacity: expansion * s.utf8.count + 2, initializingWith: escape)
        return String(decoding: bytes, as: UTF8.self)
    }

    static func zeek(_ s: String, into out: inout OutputSpan<UInt8>) {
        let count = s.utf8.count
        if count == 1, s == "-" { out.appendBytes(Array("\\x2d".utf8)); return }
        if count == 7, s == "(empty)" { out.appendBytes(Array("\\x28empty)".utf8)); return }
        var s = s
        s.makeContiguousUTF8()
        let bytes = s.utf8.span
        for i in bytes.indices {
            let byte = bytes[i]
            // Zeek writes valid UTF-8 as is (LogAscii::enable_utf_8) and escapes control bytes.
            if byte < 0x20 || byte == 0x7F || byte == UInt8(ascii: "\\") {
                out.append(UInt8(ascii: "\\")); out.append(UInt8(ascii: "x"))
                hex2(byte, into: &out)
            } else {
                out.append(byte)
            }
        }
    }

    /// A JSON string literal (RFC 8259 §7).
    public static func json(_ s: String) -> String {
        escaped(s, expansion: JSONFields.textExpansion) { json(s, into: &$0) }
    }

    static func json(_ s: String, into out: inout OutputSpan<UInt8>) {
        out.append(34)
        var s = s
        s.makeContiguousUTF8()
        let bytes = s.utf8.span
        var i = 0
        while i < bytes.count {
            let byte = bytes[i]
            i += 1
            switch byte {
            case 34: out.append(92); out.append(34)
            case 92: out.append(92); out.append(92)
            case 10: out.append(92); out.append(110)
            case 13: out.append(92); out.append(114)
            case 9: out.append(92); out.append(116)
            case 0..<0x20, 0x7F:
                out.append(92); out.append(117); out.append(48); out.append(48)  // \u00XX
                hex2(byte, into: &out)
            case 0xE2 where i + 1 < bytes.count && bytes[i] == 0x80 && (bytes[i + 1] == 0xA8 || bytes[i + 1] == 0xA9):
                // U+2028 and U+2029 (E2 80 A8/A9) break JavaScript consumers: escape them.
                out.appendBytes(Array("\\u202".utf8))
                out.append(bytes[i + 1] == 0xA8 ? 56 : 57)
                i += 2
            default:
                out.append(byte)  // valid UTF-8 passes through
            }
        }
        out.append(34)
    }

    /// An RFC 4180 field: quoted when it holds a comma, quote, CR or LF, with quotes doubled.
    public static func csv(_ s: String) -> String {
        escaped(s, expansion: CSVFields.textExpansion) { csv(s, into: &$0) }
    }

    static func csv(_ s: String, into out: inout OutputSpan<UInt8>) {
        var s = s
        s.makeContiguousUTF8()
        let bytes = s.utf8.span
        var quoted = false
        for i in bytes.indices where bytes[i] == 44 || bytes[i] == 34 || bytes[i] == 10 || bytes[i] == 13 {
            quoted = true
            break
        }
        if quoted { out.append(34) }
        for i in bytes.indices {
            out.append(bytes[i])
            if bytes[i] == 34 { out.append(34) }
        }
        if quoted { out.append(34) }
    }

    /// Replaces control characters for a terminal table.
    public static func terminal(_ s: String) -> String {
        String(String.UnicodeScalarView(s.unicodeScalars.map { $0.value < 0x20 || $0.value == 0x7F ? "?" : $0 }))
    }

    /// One line for a person, such as an error naming a file: line breaks and other control
    /// characters shown as escapes (`\n`, `\t`, `\u{7}`), so a hostile file or interface name
    /// cannot start a second line.
    public static func line(_ s: String) -> String {
        func breaks(_ scalar: Unicode.Scalar) -> Bool {
            scalar.properties.generalCategory == .control || scalar == "\u{2028}" || scalar == "\u{2029}"
        }
        guard s.unicodeScalars.contains(where: breaks) else { return s }
        var result = ""
        for scalar in s.unicodeScalars {
            switch scalar {
            case "\n": result += "\\n"
            case "\r": result += "\\r"
            case "\t": result += "\\t"
            case _ where breaks(scalar): result += "\\u{" + String(scalar.value, radix: 16) + "}"
            default: result.unicodeScalars.append(scalar)
            }
        }
        return result
    }

    static func hex2(_ b: UInt8, into out: inout OutputSpan<UInt8>) {
        func digit(_ v: UInt8) -> UInt8 { v < 10 ? 48 + v : 87 + v }  // 0-9, a-f
        out.append(digit(b >> 4))
        out.append(digit(b & 15))
    }
}


/// The netstat-style table: one row per connection, aligned columns, from the
/// client's side: Local Address is the client socket, Foreign Address the server's.
public struct NetstatTable: Sendable {
    /// Show ports as numbers (`netstat -n`) rather than service names.
    public var numeric: Bool
    /// Show Zeek's `conn_state` and history instead of the kernel-style state.
    public var zeekStates: Bool
    /// The policy-script columns to add after the counters, under Zeek's names
    /// (`vlan`, `inner_vlan`, then `orig_l2_addr`, `resp_l2_addr`).
    public var policies: ConnLogColumns.Policies

    /// Creates a table renderer.
    public init(numeric: Bool = true, zeekStates: Bool = false, policies: ConnLogColumns.Policies = []) {
        self.numeric = numeric
        self.zeekStates = zeekStates
        self.policies = policies
    }

    /// The State column for a connection: the conntrack-style TCP state, or for
    /// other protocols `REPLIED`/`UNREPLIED` as `conntrack -L` marks them.
    public static func kernelState(_ c: Connection) -> String {
        if let s = c.tcpState { return s.description }
        return c.originatorCounters.packets > 0 && c.responderCounters.packets > 0 ? "REPLIED" : "UNREPLIED"
    }

    /// Renders the rows with a header.
    public func render(_ connections: [Connection]) -> String {
        let vlans = !policies.isDisjoint(with: [.vlan, .vlanContext]), l2 = policies.contains(.l2Addresses)
        // Tunnelled connections are marked with the innermost tunnel they came through.
        let tunnels = connections.contains { $0.tunnel != nil }
        var rows: [[String]] = [["Proto", "Local Address", "Foreign Address", "State"]
            + (zeekStates ? ["History"] : []) + ["Sent Pkts", "Sent Bytes", "Recv Pkts", "Recv Bytes"]
            + (vlans ? [FieldName.vlan.text, FieldName.innerVlan.text] : [])
            + (l2 ? [FieldName.origL2Addr.text, FieldName.respL2Addr.text] : [])
            + (tunnels ? ["Tunnel"] : [])]
        let firstNumeric = zeekStates ? 5 : 4
        for c in connections {
            let clientIsOrig = c.client == c.originator
            let sent = clientIsOrig ? c.originatorCounters : c.responderCounters
            let received = clientIsOrig ? c.responderCounters : c.originatorCounters
            let proto = c.transport == .unknown ? "ip-\(c.ipProtocol)" : c.transport.description + (c.client.address.isIPv4 ? "" : "6")
            var server = c.server.description
            if !numeric, let service = c.service {
                server = (c.server.address.isIPv4 ? "\(c.server.address)" : "[\(c.server.address)]") + ":" + service
            }
            var row = [proto, c.client.description, Escaping.terminal(server)]
            if zeekStates {
                row += [c.connState.description, c.history.isEmpty ? "-" : Escaping.terminal(c.history)]
            } else {
                row.append(Self.kernelState(c))
            }
            row += [String(sent.packets), String(sent.ipBytes), String(received.packets), String(received.ipBytes)]
            if vlans { row += [c.vlan.map { String($0) } ?? "-", c.innerVLAN.map { String($0) } ?? "-"] }
            if l2 { row += [c.originatorL2Address?.description ?? "-", c.responderL2Address?.description ?? "-"] }
            if tunnels { row.append(c.tunnel.map { String($0.description.dropFirst("Tunnel::".count)).lowercased() } ?? "-") }
            rows.append(row)
        }
        var widths = [Int](repeating: 0, count: rows[0].count)
        for row in rows { for (i, cell) in row.enumerated() { widths[i] = max(widths[i], cell.count) } }
        return rows.map { row in
            row.enumerated().map { i, cell in
                let pad = String(repeating: " ", count: widths[i] - cell.count)
                return i >= firstNumeric && i < firstNumeric + 4 ? pad + cell : cell + pad
            }.joined(separator: "  ").trimmingTrailingSpaces()
        }.joined(separator: "\n") + "\n"
    }
}

extension String {
    /// The text without its trailing spaces (of padded table cells).
    package func trimmingTrailingSpaces() -> String {
        var s = self
        while s.last == " " { s.removeLast() }
        return s
    }
}

/// Zeek's tunnel.log (Docs/Encapsulation.md §3.4): one line per DISCOVER, CLOSE or EXPIRE.
public enum TunnelLog {
    /// The ASCII log's header lines; `opened` is the `#open` time as `YYYY-MM-DD-HH-MM-SS`.
    public static func zeekHeader(opened: String) -> String {
        "#separator \\x09\n#set_separator\t,\n#empty_field\t(empty)\n#unset_field\t-\n#path\ttunnel\n#open\t\(opened)\n"
            + "#fields\tts\tuid\tid.orig_h\tid.orig_p\tid.resp_h\tid.resp_p\ttunnel_type\taction\n"
            + "#types\ttime\tstring\taddr\tport\taddr\tport\tenum\tenum\n"
    }

    /// The ASCII log's closing line.
    public static func zeekFooter(closed: String) -> String { "#close\t\(closed)\n" }

    /// One line of the ASCII log, ending in a newline.
    public static func zeekRow(_ r: TunnelRecord) -> String {
        [TimeFormat.epochMicros(r.timestamp), r.uid, r.originator.address.description, String(r.originator.port),
         r.responder.address.description, String(r.responder.port), r.kind.description, r.action.rawValue]
            .joined(separator: "\t") + "\n"
    }

    /// One JSON Lines object with the same field names, ending in a newline.
    public static func jsonRow(_ r: TunnelRecord) -> String {
        "{\"ts\":\(TimeFormat.epochMicros(r.timestamp)),\"uid\":\"\(r.uid)\",\"id.orig_h\":\"\(r.originator.address)\","
            + "\"id.orig_p\":\(r.originator.port),\"id.resp_h\":\"\(r.responder.address)\",\"id.resp_p\":\(r.responder.port),"
            + "\"tunnel_type\":\"\(r.kind)\",\"action\":\"\(r.action.rawValue)\"}\n"
    }
}
