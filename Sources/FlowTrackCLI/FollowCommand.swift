import ArgumentParser
import FlowTrack

/// `flowtrack follow`: one TCP connection's payload, both directions in order, like
/// `tshark -z follow,tcp,…`.
public struct FollowCommand: ParsableCommand {
    /// The command's help text.
    public static let configuration = CommandConfiguration(
        commandName: "follow",
        abstract: "Print one TCP connection's payload, reassembled, like tshark's follow.",
        discussion: """
            The connection is chosen by its uid (as conn prints it), its Community ID, or its \
            two endpoints in either order. Each chunk of payload is printed as it completes \
            the stream in sequence order, the responder's indented by a tab as tshark does; a \
            hole the capture missed is printed as "[N bytes missing in capture file]". Formats: \
            ascii (non-printable bytes as dots), hex (a hex dump with offsets), raw (one line \
            of hex per chunk, tshark's raw) and json (one object per chunk, with base64 data).

            EXAMPLES:
              flowtrack follow trace.pcap --uid CHhAvVGS1DHFjwGM9
              flowtrack follow trace.pcap --tuple '10.0.0.1:49152 10.0.0.2:80' --format hex
              flowtrack follow trace.pcap --community-id '1:LQU9qZlK+B5F3KDmev6m5PMibrg='
            """)

    /// The capture files.
    @Argument(help: "Capture files (pcap or pcapng), read as one capture merged by timestamp.")
    public var files: [String]

    /// A connection uid.
    @Option(help: "The connection's uid.")
    public var uid: String?

    /// A Community ID.
    @Option(name: .customLong("community-id"), help: "The connection's Community ID (v1, seed 0).")
    public var communityID: String?

    /// Two endpoints.
    @Option(help: "The connection's endpoints, 'ADDRESS:PORT ADDRESS:PORT' in either order ([v6]:port for IPv6).")
    public var tuple: String?

    /// Every connection.
    @Flag(help: "Print every TCP connection of the capture, one block each, in the order they started.")
    public var all = false

    /// Output format.
    @Option(help: "Output format: ascii (default), hex, raw or json.")
    public var format: String = "ascii"

    /// Checksums and the uid seed.
    @OptionGroup public var options: StreamCommandOptions

    /// Creates the command.
    public init() {}

    /// Validates options.
    public func validate() throws {
        if [uid, communityID, tuple].compactMap({ $0 }).count + (all ? 1 : 0) != 1 {
            throw ValidationError("give exactly one of --uid, --community-id, --tuple and --all")
        }
        if !["ascii", "hex", "raw", "json"].contains(format) {
            throw ValidationError("--format must be ascii, hex, raw or json (got '\(format)')")
        }
        if let tuple, Self.endpoints(tuple) == nil {
            throw ValidationError("--tuple must be two endpoints such as '10.0.0.1:49152 10.0.0.2:80' (got '\(tuple)')")
        }
    }

    /// Two endpoints from `A B` (or `A,B`).
    static func endpoints(_ text: String) -> (Endpoint, Endpoint)? {
        let parts = text.split(whereSeparator: { $0 == " " || $0 == "," }).map(String.init)
        guard parts.count == 2, let a = Endpoint(parts[0]), let b = Endpoint(parts[1]) else { return nil }
        return (a, b)
    }

    /// Runs against standard output and standard error.
    public func run() throws {
        try runWithStandardStreams { out, err in execute(out: &out, err: &err) }
    }

    /// Whether `start` is the connection asked for.
    func wanted(_ start: StreamStart) -> Bool {
        if all { return true }
        if let uid { return start.uid == uid }
        if let communityID {
            return CommunityID.v1(ipProtocol: 6, source: start.originator, destination: start.responder) == communityID
        }
        guard let tuple, let (a, b) = Self.endpoints(tuple) else { return false }
        return (start.originator == a && start.responder == b) || (start.originator == b && start.responder == a)
    }

    /// One connection's printed stream, collected while the capture is read.
    final class Printout {
        var header = ""
        var text = ""
        var offsets = [0, 0]
    }

    /// Formats one connection's chunks.
    struct Printer: StreamHandler {
        let printout: Printout
        let format: String

        mutating func receive(_ bytes: Span<UInt8>, from direction: Direction) {
            var copy: [UInt8] = []
            copy.append(copying: bytes)
            chunk(copy, direction, gap: false)
        }

        mutating func gap(_ length: Int, in direction: Direction) {
            if format == "json" {
                let side = direction == .original ? 0 : 1
                printout.text += "{\"direction\":\"\(side == 0 ? "original" : "reply")\",\"offset\":\(printout.offsets[side]),\"gap\":\(length)}\n"
            } else {
                // tshark's marker, with its terminating NUL.
                chunk(Array("[\(length) bytes missing in capture file]".utf8) + [0], direction, gap: true)
            }
            printout.offsets[direction == .original ? 0 : 1] += length
        }

        static let digits = Array("0123456789abcdef")
        static func hex2(_ b: UInt8) -> String { String([digits[Int(b >> 4)], digits[Int(b & 15)]]) }
        static func hex8(_ v: Int) -> String { (0..<4).reversed().map { hex2(UInt8(truncatingIfNeeded: v >> ($0 * 8))) }.joined() }

        func chunk(_ bytes: [UInt8], _ direction: Direction, gap: Bool) {
            let side = direction == .original ? 0 : 1
            let indent = side == 1 ? "\t" : ""
            switch format {
            case "raw":
                printout.text += indent + bytes.map { Self.hex2($0) }.joined() + "\n"
            case "hex":
                var line = 0
                while line < bytes.count {
                    let row = bytes[line..<min(line + 16, bytes.count)]
                    let hex = row.map { Self.hex2($0) }.joined(separator: " ")
                    let ascii = String(row.map { (0x20..<0x7F).contains($0) ? Character(UnicodeScalar($0)) : "." })
                    let offset = Self.hex8(printout.offsets[side] + line)
                    let padded = hex + String(repeating: " ", count: max(0, 47 - hex.count))
                    printout.text += indent + offset + "  " + padded + "  " + ascii + "\n"
                    line += 16
                }
            case "json":
                printout.text += "{\"direction\":\"\(side == 0 ? "original" : "reply")\",\"offset\":\(printout.offsets[side]),"
                    + "\"length\":\(bytes.count),\"data\":\"\(Base64.encode(bytes))\"}\n"
            default:
                printout.text += indent + "\(bytes.count)\n" + indent
                    + String(bytes.map { $0 == 0x0A || (0x20..<0x7F).contains($0) ? Character(UnicodeScalar($0)) : "." }) + "\n"
            }
            if !gap { printout.offsets[side] += bytes.count }
        }
    }

    /// Runs the command, writing to the given sinks, and returns the exit status.
    public func execute(out: inout some TextSink, err: inout some TextSink) -> ExitStatus {
        let configuration = options.configuration
        var printouts: [Printout] = []
        var streams = StreamDemultiplexer()
        let format = self.format
        streams.registerFallback { start in
            guard all || printouts.isEmpty, wanted(start) else { return nil }
            let printout = Printout()
            printout.header = "Node 0: \(start.originator)\nNode 1: \(start.responder)\n"
            printouts.append(printout)
            return Printer(printout: printout, format: format)
        }
        var tracker = FlowTracker(configuration: configuration)
        do throws(CaptureError) {
            try tracker.run(files: files, streams: &streams)
            tracker.finish { streams.event($0) }
        } catch {
            err.writeError("\(error)")
            return ExitStatus(error)
        }
        guard !printouts.isEmpty || all else {
            err.writeError("no TCP connection in \(files.joined(separator: ", ")) matches \(uid.map { "uid " + $0 } ?? communityID.map { "Community ID " + $0 } ?? "tuple " + (tuple ?? ""))")
            return .failure
        }
        for printout in printouts {
            if format == "json" {
                out.write(printout.text)
            } else {
                let rule = String(repeating: "=", count: 67) + "\n"
                out.write(rule + "Follow: tcp,\(format)\n" + printout.header + printout.text + rule)
            }
        }
        return .success
    }
}

/// Base64 (RFC 4648) without Foundation.
enum Base64 {
    static let alphabet = Array("ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/".utf8)

    static func encode(_ bytes: [UInt8]) -> String {
        var out: [UInt8] = []
        out.reserveCapacity((bytes.count + 2) / 3 * 4)
        var i = 0
        while i + 3 <= bytes.count {
            let n = UInt32(bytes[i]) << 16 | UInt32(bytes[i + 1]) << 8 | UInt32(bytes[i + 2])
            for shift in [18, 12, 6, 0] { out.append(alphabet[Int(n >> UInt32(shift) & 63)]) }
            i += 3
        }
        let rest = bytes.count - i
        if rest > 0 {
            let n = UInt32(bytes[i]) << 16 | (rest == 2 ? UInt32(bytes[i + 1]) << 8 : 0)
            out.append(alphabet[Int(n >> 18 & 63)])
            out.append(alphabet[Int(n >> 12 & 63)])
            out.append(rest == 2 ? alphabet[Int(n >> 6 & 63)] : UInt8(ascii: "="))
            out.append(UInt8(ascii: "="))
        }
        return String(decoding: out, as: UTF8.self)
    }
}
