import FlowTrack
import Foundation
import Testing

@Suite struct ProgressTests {
    /// A 60 MB capture of UDP packets between many ports, made with PcapWriter.
    static let bigCapture: String = {
        let path = Paths.temporary("big.pcap")
        let writer = try! PcapWriter(path: path, linkType: .ethernet)
        var frame = [UInt8](repeating: 0x41, count: 1400)
        frame[12] = 0x08; frame[13] = 0x00
        frame[14] = 0x45; frame[16] = UInt8((1400 - 14) >> 8); frame[17] = UInt8((1400 - 14) & 0xFF); frame[22] = 64; frame[23] = 17
        frame[18] = 0; frame[19] = 0; frame[20] = 0; frame[21] = 0; frame[24] = 0; frame[25] = 0
        frame[26] = 10; frame[27] = 0; frame[28] = 0; frame[29] = 1
        frame[30] = 10; frame[31] = 0; frame[32] = 0; frame[33] = 2
        frame[38] = UInt8((1400 - 34) >> 8); frame[39] = UInt8((1400 - 34) & 0xFF); frame[40] = 0; frame[41] = 0
        for i in 0..<44_000 {
            frame[34] = UInt8(truncatingIfNeeded: (1024 + i % 5000) >> 8); frame[35] = UInt8(truncatingIfNeeded: 1024 + i % 5000)
            frame[36] = 0x13; frame[37] = 0x88
            writer.write(PacketMetadata(timestamp: Timestamp(seconds: 1_700_000_000, nanoseconds: Int64(i) * 1000),
                                        capturedLength: 1400, wireLength: 1400), bytes: frame)
        }
        try! writer.flush()
        return path
    }()

    func onTerminal(_ arguments: String) throws -> String {
        try runOnTerminal("\(binaryPath) \(arguments) > /dev/null")
    }

    @Test(.enabled(if: FileManager.default.isExecutableFile(atPath: "/usr/bin/script"), "needs script(1) for a terminal"))
    func largeFilesShowProgressOnATerminalOnly() throws {
        let path = Self.bigCapture
        #expect((try FileManager.default.attributesOfItem(atPath: path)[.size] as! Int) > 50_000_000)
        let shown = try onTerminal("conn -C --format json \(path)")
        #expect(shown.contains("%") && shown.contains("packets/s") && shown.contains("ETA"))
        let quiet = try onTerminal("conn -C --format json --quiet \(path)")
        #expect(!quiet.contains("packets/s"))
        // Not a terminal: nothing on standard error.
        let piped = try runBinary(["conn", "-C", "--format", "json", path])
        #expect(piped.status == 0 && piped.err.isEmpty)
        #expect(piped.out.split(separator: "\n").count == 5000)
    }
}
