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
    /// ``table``, which aligns all its rows at once (``ConnectionTable``).
    public func rowBytes(_ c: Connection, columns: ConnLogColumns) -> [UInt8]? {
        switch self {
        case .table: return nil
        case .zeek: return ZeekLogWriter(columns: columns).rowBytes(c)
        case .json: return JSONLinesWriter(columns: columns).rowBytes(c)
        case .csv: return CSVWriter(columns: columns).rowBytes(c)
        }
    }
}

/// Receives one row's fields in column order; each format implements it.
protocol FieldWriter {
    /// A text field (escaped by the format).
    mutating func text(_ name: StaticString, _ value: String)
    /// An unsigned integer.
    mutating func count(_ name: StaticString, _ value: UInt64)
    /// Seconds with 6 decimals from nanoseconds (Zeek's `time` and `interval`).
    mutating func seconds(_ name: StaticString, _ nanoseconds: Int64)
    /// A boolean.
    mutating func bool(_ name: StaticString, _ value: Bool)
    /// An unset field.
    mutating func unset(_ name: StaticString)
    /// An IP address.
    mutating func address(_ name: StaticString, _ value: IPAddress)
}

/// Bytes of a row being built: decimal and fixed-point numbers are written
/// directly, without intermediate strings.
struct RowBytes {
    var bytes: [UInt8] = []

    init() { bytes.reserveCapacity(320) }

    mutating func append(_ s: StaticString) {
        s.withUTF8Buffer { bytes.append(contentsOf: $0) }
    }

    mutating func decimal(_ value: UInt64) {
        if value < 10 { bytes.append(48 + UInt8(value)); return }
        var digits: (UInt8, UInt8, UInt8, UInt8, UInt8, UInt8, UInt8, UInt8, UInt8, UInt8,
                     UInt8, UInt8, UInt8, UInt8, UInt8, UInt8, UInt8, UInt8, UInt8, UInt8) =
            (0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0)
        var n = 0
        var v = value
        withUnsafeMutableBytes(of: &digits) { d in
            while v > 0 { d[n] = 48 + UInt8(v % 10); v /= 10; n += 1 }
            for i in stride(from: n - 1, through: 0, by: -1) { bytes.append(d[i]) }
        }
    }

    /// An address in its RFC 5952 text form (IPv4 written directly).
    mutating func address(_ a: IPAddress) {
        if let v = a.ipv4Value {
            decimal(UInt64(v >> 24)); bytes.append(46)
            decimal(UInt64(v >> 16 & 0xFF)); bytes.append(46)
            decimal(UInt64(v >> 8 & 0xFF)); bytes.append(46)
            decimal(UInt64(v & 0xFF))
        } else {
            bytes += a.description.utf8
        }
    }

    /// `seconds.micro` rounded to the microsecond, as Zeek prints times.
    mutating func seconds(_ nanoseconds: Int64) {
        var micros = nanoseconds >= 0 ? (nanoseconds + 500) / 1000 : -((-nanoseconds + 500) / 1000)
        if micros < 0 { bytes.append(45); micros = -micros }
        decimal(UInt64(micros / 1_000_000))
        bytes.append(46)
        let fraction = micros % 1_000_000
        var divisor: Int64 = 100_000
        while divisor > 0 { bytes.append(48 + UInt8(fraction / divisor % 10)); divisor /= 10 }
    }
}

/// Zeek ASCII TSV fields.
struct ZeekFields: FieldWriter {
    var row = RowBytes()
    var first = true
    mutating func separate() { if first { first = false } else { row.bytes.append(9) } }
    mutating func text(_ name: StaticString, _ value: String) { separate(); Escaping.zeek(value, into: &row.bytes) }
    mutating func count(_ name: StaticString, _ value: UInt64) { separate(); row.decimal(value) }
    mutating func seconds(_ name: StaticString, _ nanoseconds: Int64) { separate(); row.seconds(nanoseconds) }
    mutating func bool(_ name: StaticString, _ value: Bool) { separate(); row.bytes.append(value ? 84 : 70) }
    mutating func unset(_ name: StaticString) { separate(); row.bytes.append(45) }
    mutating func address(_ name: StaticString, _ value: IPAddress) { separate(); row.address(value) }
}

/// JSON object fields; unset fields are left out, as Zeek's JSON writer does.
struct JSONFields: FieldWriter {
    var row = RowBytes()
    var first = true
    mutating func key(_ name: StaticString) {
        row.bytes.append(first ? 123 : 44)
        first = false
        row.bytes.append(34)
        row.append(name)
        row.bytes.append(34)
        row.bytes.append(58)
    }
    mutating func text(_ name: StaticString, _ value: String) { key(name); Escaping.json(value, into: &row.bytes) }
    mutating func count(_ name: StaticString, _ value: UInt64) { key(name); row.decimal(value) }
    mutating func seconds(_ name: StaticString, _ nanoseconds: Int64) { key(name); row.seconds(nanoseconds) }
    mutating func bool(_ name: StaticString, _ value: Bool) { key(name); row.append(value ? "true" : "false") }
    mutating func unset(_ name: StaticString) {}
    mutating func address(_ name: StaticString, _ value: IPAddress) {
        key(name); row.bytes.append(34); row.address(value); row.bytes.append(34)
    }
}

/// CSV fields (RFC 4180); unset fields are empty.
struct CSVFields: FieldWriter {
    var row = RowBytes()
    var first = true
    mutating func separate() { if first { first = false } else { row.bytes.append(44) } }
    mutating func text(_ name: StaticString, _ value: String) { separate(); Escaping.csv(value, into: &row.bytes) }
    mutating func count(_ name: StaticString, _ value: UInt64) { separate(); row.decimal(value) }
    mutating func seconds(_ name: StaticString, _ nanoseconds: Int64) { separate(); row.seconds(nanoseconds) }
    mutating func bool(_ name: StaticString, _ value: Bool) { separate(); row.bytes.append(value ? 84 : 70) }
    mutating func unset(_ name: StaticString) { separate() }
    mutating func address(_ name: StaticString, _ value: IPAddress) { separate(); row.address(value) }
}

/// The conn.log columns (ZEEK_SEMANTICS §0), written the same way for every format.
public struct ConnLogColumns: Sendable {
    /// Whether to add the `community_id` column.
    public var communityID: Bool
    /// Whether to add FlowTrack's own columns (JSON and CSV only): `tcp_state`,
    /// `end_reason`, payload bytes and retransmissions per direction.
    public var extras: Bool

    /// Creates a column set.
    public init(communityID: Bool = false, extras: Bool = true) {
        self.communityID = communityID
        self.extras = extras
    }

    static let zeekNames = ["ts", "uid", "id.orig_h", "id.orig_p", "id.resp_h", "id.resp_p", "proto", "service", "duration",
                            "orig_bytes", "resp_bytes", "conn_state", "local_orig", "local_resp", "missed_bytes", "history",
                            "orig_pkts", "orig_ip_bytes", "resp_pkts", "resp_ip_bytes", "tunnel_parents", "ip_proto"]
    static let zeekTypes = ["time", "string", "addr", "port", "addr", "port", "enum", "string", "interval", "count", "count",
                            "string", "bool", "bool", "count", "string", "count", "count", "count", "count", "set[string]", "count"]
    static let extraNames = ["tcp_state", "end_reason", "orig_payload_bytes", "resp_payload_bytes", "orig_retransmissions",
                             "resp_retransmissions"]

    /// Column names, in order.
    public func names(zeek: Bool) -> [String] {
        Self.zeekNames + (communityID ? ["community_id"] : []) + (extras && !zeek ? Self.extraNames : [])
    }

    /// Writes one connection's fields in column order.
    func write(_ c: Connection, zeek: Bool, to w: inout some FieldWriter) {
        let hasDuration = c.duration > 0
        let o = c.originatorCounters, r = c.responderCounters
        w.seconds("ts", c.startTime.nanoseconds)
        w.text("uid", c.uid)
        w.address("id.orig_h", c.originator.address)
        w.count("id.orig_p", UInt64(c.originator.port))
        w.address("id.resp_h", c.responder.address)
        w.count("id.resp_p", UInt64(c.responder.port))
        w.text("proto", c.transport.description)
        if let service = c.service { w.text("service", service) } else { w.unset("service") }
        if hasDuration {
            w.seconds("duration", c.duration)
            w.count("orig_bytes", o.bytes)
            w.count("resp_bytes", r.bytes)
        } else {
            w.unset("duration"); w.unset("orig_bytes"); w.unset("resp_bytes")
        }
        w.text("conn_state", c.connState.description)
        if let l = c.localOriginator { w.bool("local_orig", l) } else { w.unset("local_orig") }
        if let l = c.localResponder { w.bool("local_resp", l) } else { w.unset("local_resp") }
        w.count("missed_bytes", c.missedBytes)
        if c.history.isEmpty { w.unset("history") } else { w.text("history", c.history) }
        w.count("orig_pkts", o.packets)
        w.count("orig_ip_bytes", o.ipBytes)
        w.count("resp_pkts", r.packets)
        w.count("resp_ip_bytes", r.ipBytes)
        w.unset("tunnel_parents")
        w.count("ip_proto", UInt64(c.ipProtocol))
        if communityID { w.text("community_id", c.communityID) }
        if extras && !zeek {
            if let s = c.tcpState { w.text("tcp_state", s.description) } else { w.unset("tcp_state") }
            if let e = c.endReason { w.text("end_reason", e.description) } else { w.unset("end_reason") }
            w.count("orig_payload_bytes", o.payloadBytes)
            w.count("resp_payload_bytes", r.payloadBytes)
            w.count("orig_retransmissions", o.retransmissions)
            w.count("resp_retransmissions", r.retransmissions)
        }
    }
}

/// Zeek ASCII conn.log writer.
public struct ZeekLogWriter: Sendable {
    /// The columns.
    public var columns: ConnLogColumns

    /// Creates a writer.
    public init(columns: ConnLogColumns) { self.columns = columns }

    /// The header lines; `opened` is the `#open` time as `YYYY-MM-DD-HH-MM-SS`.
    public func header(opened: String) -> String {
        var s = "#separator \\x09\n#set_separator\t,\n#empty_field\t(empty)\n#unset_field\t-\n#path\tconn\n#open\t\(opened)\n"
        s += "#fields\t" + columns.names(zeek: true).joined(separator: "\t") + "\n"
        s += "#types\t" + (ConnLogColumns.zeekTypes + (columns.communityID ? ["string"] : [])).joined(separator: "\t") + "\n"
        return s
    }

    /// One row, as bytes ending in a newline.
    public func rowBytes(_ c: Connection) -> [UInt8] {
        var w = ZeekFields()
        columns.write(c, zeek: true, to: &w)
        w.row.bytes.append(10)
        return w.row.bytes
    }

    /// One row.
    public func row(_ c: Connection) -> String { String(decoding: rowBytes(c), as: UTF8.self) }

    /// The closing line.
    public func footer(closed: String) -> String { "#close\t\(closed)\n" }
}

/// JSON Lines writer, one object per connection with Zeek's field names; unset fields are omitted.
public struct JSONLinesWriter: Sendable {
    /// The columns.
    public var columns: ConnLogColumns

    /// Creates a writer.
    public init(columns: ConnLogColumns) { self.columns = columns }

    /// One line, as bytes ending in a newline.
    public func rowBytes(_ c: Connection) -> [UInt8] {
        var w = JSONFields()
        columns.write(c, zeek: false, to: &w)
        w.row.bytes.append(125)
        w.row.bytes.append(10)
        return w.row.bytes
    }

    /// One line.
    public func row(_ c: Connection) -> String { String(decoding: rowBytes(c), as: UTF8.self) }
}

/// CSV writer (RFC 4180): a header row, then one row per connection; unset fields are empty.
public struct CSVWriter: Sendable {
    /// The columns.
    public var columns: ConnLogColumns

    /// Creates a writer.
    public init(columns: ConnLogColumns) { self.columns = columns }

    /// The header row.
    public var header: String { columns.names(zeek: false).map(Escaping.csv).joined(separator: ",") + "\r\n" }

    /// One row, as bytes ending in CRLF.
    public func rowBytes(_ c: Connection) -> [UInt8] {
        var w = CSVFields()
        columns.write(c, zeek: false, to: &w)
        w.row.bytes.append(13)
        w.row.bytes.append(10)
        return w.row.bytes
    }

    /// One row.
    public func row(_ c: Connection) -> String { String(decoding: rowBytes(c), as: UTF8.self) }
}

/// Escaping rules of each format, so no byte from a packet or file name can break a row.
public enum Escaping {
    /// Zeek ASCII: control bytes (the tab separator among them) and backslash as `\xNN`;
    /// a field that would read as unset or empty is escaped too.
    public static func zeek(_ s: String) -> String {
        var out: [UInt8] = []
        zeek(s, into: &out)
        return String(decoding: out, as: UTF8.self)
    }

    static func zeek(_ s: String, into out: inout [UInt8]) {
        if s == "-" { out += Array("\\x2d".utf8); return }
        if s == "(empty)" { out += Array("\\x28empty)".utf8); return }
        for byte in s.utf8 {
            // Zeek writes valid UTF-8 as is (LogAscii::enable_utf_8) and escapes control bytes.
            if byte < 0x20 || byte == 0x7F || byte == UInt8(ascii: "\\") {
                out += [UInt8(ascii: "\\"), UInt8(ascii: "x")]
                hex2(byte, into: &out)
            } else {
                out.append(byte)
            }
        }
    }

    /// A JSON string literal (RFC 8259 §7).
    public static func json(_ s: String) -> String {
        var out: [UInt8] = []
        json(s, into: &out)
        return String(decoding: out, as: UTF8.self)
    }

    static func json(_ s: String, into out: inout [UInt8]) {
        out.append(34)
        var u = s.utf8.makeIterator()
        while let byte = u.next() {
            switch byte {
            case 34: out += [92, 34]
            case 92: out += [92, 92]
            case 10: out += [92, 110]
            case 13: out += [92, 114]
            case 9: out += [92, 116]
            case 0..<0x20, 0x7F:
                out += [92, 117, 48, 48]  // \u00XX
                hex2(byte, into: &out)
            case 0xE2:
                // U+2028 and U+2029 (E2 80 A8/A9) break JavaScript consumers: escape them.
                let b1 = u.next(), b2 = u.next()
                if b1 == 0x80, let b2, b2 == 0xA8 || b2 == 0xA9 {
                    out += Array("\\u202".utf8)
                    out.append(b2 == 0xA8 ? 56 : 57)
                } else {
                    out.append(byte)
                    if let b1 { out.append(b1) }
                    if let b2 { out.append(b2) }
                }
            default:
                out.append(byte)  // valid UTF-8 passes through
            }
        }
        out.append(34)
    }

    /// An RFC 4180 field: quoted when it holds a comma, quote, CR or LF, with quotes doubled.
    public static func csv(_ s: String) -> String {
        var out: [UInt8] = []
        csv(s, into: &out)
        return String(decoding: out, as: UTF8.self)
    }

    static func csv(_ s: String, into out: inout [UInt8]) {
        let needsQuotes = s.utf8.contains { $0 == 44 || $0 == 34 || $0 == 10 || $0 == 13 }
        guard needsQuotes else { out += s.utf8; return }
        out.append(34)
        for byte in s.utf8 {
            out.append(byte)
            if byte == 34 { out.append(34) }
        }
        out.append(34)
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

    static func hex2(_ b: UInt8, into out: inout [UInt8]) {
        let digits: StaticString = "0123456789abcdef"
        digits.withUTF8Buffer { d in
            out.append(d[Int(b >> 4)])
            out.append(d[Int(b & 15)])
        }
    }
}


/// The netstat-style table: one row per connection, aligned columns, from the
/// client's side: Local Address is the client socket, Foreign Address the server's.
public struct ConnectionTable: Sendable {
    /// Show ports as numbers (`netstat -n`) rather than service names.
    public var numeric: Bool
    /// Show Zeek's `conn_state` and history instead of the kernel-style state.
    public var zeekStates: Bool

    /// Creates a table renderer.
    public init(numeric: Bool = true, zeekStates: Bool = false) {
        self.numeric = numeric
        self.zeekStates = zeekStates
    }

    /// The State column for a connection: the conntrack-style TCP state, or for
    /// other protocols `REPLIED`/`UNREPLIED` as `conntrack -L` marks them.
    public static func kernelState(_ c: Connection) -> String {
        if let s = c.tcpState { return s.description }
        return c.originatorCounters.packets > 0 && c.responderCounters.packets > 0 ? "REPLIED" : "UNREPLIED"
    }

    /// Renders the rows with a header.
    public func render(_ connections: [Connection]) -> String {
        var rows: [[String]] = [["Proto", "Local Address", "Foreign Address", "State"]
            + (zeekStates ? ["History"] : []) + ["Sent Pkts", "Sent Bytes", "Recv Pkts", "Recv Bytes"]]
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
            rows.append(row)
        }
        var widths = [Int](repeating: 0, count: rows[0].count)
        for row in rows { for (i, cell) in row.enumerated() { widths[i] = max(widths[i], cell.count) } }
        let firstNumeric = rows[0].count - 4
        return rows.map { row in
            row.enumerated().map { i, cell in
                let pad = String(repeating: " ", count: widths[i] - cell.count)
                return i >= firstNumeric ? pad + cell : cell + pad
            }.joined(separator: "  ").trimmingTrailingSpaces()
        }.joined(separator: "\n") + "\n"
    }
}

extension String {
    func trimmingTrailingSpaces() -> String {
        var s = self
        while s.last == " " { s.removeLast() }
        return s
    }
}
