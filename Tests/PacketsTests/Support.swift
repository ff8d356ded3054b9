import Packets
import Pcap
@_exported import TestSupport

/// One packet read from a file, copied so tests can keep it.
struct Frame {
    var meta: PacketMetadata
    var bytes: [UInt8]
}

/// Reads every packet of a capture file.
func readFrames(_ path: String, filter: String? = nil) throws(CaptureError) -> (linkType: LinkType, frames: [Frame]) {
    var file = try PcapFile(path: path, filter: filter)
    var frames: [Frame] = []
    while let frame = try file.next({ meta, bytes in Frame(meta: meta, bytes: copy(bytes)) }) {
        frames.append(frame)
    }
    return (file.linkType, frames)
}

func copy(_ span: Span<UInt8>) -> [UInt8] {
    var out = [UInt8]()
    out.reserveCapacity(span.count)
    for i in 0..<span.count { out.append(span[i]) }
    return out
}

/// Decodes every packet of a fixture.
func decodeFixture(_ name: String, verifyChecksums: Bool = false) throws -> [DecodedPacket] {
    let (linkType, frames) = try readFrames(Paths.fixture(name))
    let decoder = try PacketDecoder(linkType: linkType, verifyChecksums: verifyChecksums)
    return frames.map { frame in
        var p = DecodedPacket()
        decoder.decode(frame.bytes.span, wireLength: frame.meta.wireLength, into: &p)
        return p
    }
}

func ip(_ text: String) -> IPAddress { IPAddress(text)! }
