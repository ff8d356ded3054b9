import ArgumentParser
import Dispatch
import FlowTrack

/// `flowtrack streams`: every TCP connection's payload, one file per direction, like tcpflow.
public struct StreamsCommand: ParsableCommand {
    /// The command's help text.
    public static let configuration = CommandConfiguration(
        commandName: "streams",
        abstract: "Write each direction of each TCP connection (and each UDP flow) to a file, like tcpflow.",
        discussion: """
            Files are named as tcpflow names them, the sender first, addresses and ports \
            zero-padded (010.000.000.001.49152-010.000.000.002.00080), followed by the \
            connection's uid, so that a 4-tuple reused by several connections gives several \
            files; UDP flows get a .udp suffix and hold their datagrams one after another. \
            Next to them, UID.json summarises each connection: its endpoints, the bytes \
            written and missing each way, and why its stream ended. A hole the capture missed \
            is left out (--holes skip, the default) or written as zeros (--holes zero, as \
            tcpflow does).

            EXAMPLES:
              flowtrack streams trace.pcap -o flows/
              flowtrack streams trace.pcap -o flows/ --port 80 --holes zero
            """)

    /// The capture files.
    @Argument(help: "Capture files (pcap or pcapng), read as one capture merged by timestamp.")
    public var files: [String]

    /// Output directory.
    @Option(name: .shortAndLong, help: "Directory for the files (created if missing).")
    public var output: String

    /// Only this server port.
    @Option(help: "Only connections to this server port.")
    public var port: UInt16?

    /// Holes.
    @Option(help: "Holes in a stream: skip (leave them out, default) or zero (write zeros, as tcpflow).")
    public var holes: String = "skip"

    /// Whether UDP is written too.
    @Flag(name: .customLong("no-udp"), help: "Leave UDP flows out.")
    public var noUDP = false

    /// Checksums and the uid seed.
    @OptionGroup public var options: StreamCommandOptions

    /// Threads.
    @Option(help: "Threads: with 2 or more, one reads, tracks and reassembles, another creates and writes the files (the kernel's file writing is most of the time); 1 does both on one thread (default and at most: the number of cores).")
    public var threads: Int?

    /// Creates the command.
    public init() {}

    /// Validates options.
    public func validate() throws {
        if holes != "skip" && holes != "zero" { throw ValidationError("--holes must be skip or zero (got '\(holes)')") }
        try TrackingOptions.validate(threads: threads)
    }

    /// Runs against standard output and standard error.
    public func run() throws {
        try runWithStandardStreams { out, err in execute(out: &out, err: &err) }
    }

    /// tcpflow's name for an endpoint: each IPv4 octet as 3 digits (IPv6 as written), the port as 5.
    static func flowName(_ e: Endpoint) -> String {
        let address = e.address.isIPv4
            ? e.address.description.split(separator: ".").map { zeroPadded(Int64($0) ?? 0, 3) }.joined(separator: ".")
            : e.address.description
        return address + "." + zeroPadded(Int64(e.port), 5)
    }

    /// The files being written. Each one's bytes are collected in memory and written when
    /// its stream ends: one create, write and close for most files. A file whose buffer
    /// passes 1 MiB, or that is among the largest when all buffers together pass 64 MiB
    /// (then the largest are written until half of that is left), is written early and
    /// keeps its descriptor open for the rest (up to 16,384 open, the descriptor limit
    /// raised as far as the system allows; beyond that the oldest is closed and reopened
    /// for appending if it grows again). No file is opened twice in the
    /// common case: re-opening files in a directory of tens of thousands is what made
    /// writing slow.
    ///
    /// The system calls (create, write, close) are ``FileIO``'s: on the calling thread, or
    /// with `threads` > 1 on a thread of their own, where the kernel's cost of filling
    /// files (most of the command's time) overlaps the reading and reassembly.
    final class Files {
        let perFile = 1 << 20, total = 64 << 20
        /// Collected bytes and file names, by a number per file (cheaper to hash than the name).
        var buffers: [Int: [UInt8]] = [:]
        var names: [Int: String] = [:]
        var buffered = 0
        /// Files written to before (their descriptor may be open; appended to next time).
        var created: Set<Int> = []
        var nextNumber = 0
        let io: FileIO

        init(directory: String, threads: Int) { io = FileIO(directory: directory, background: threads > 1) }

        /// The first failure, once everything handed over has been done.
        var failure: CaptureError? { io.failure }

        /// A number for the file `name`, to write to.
        func file(_ name: String) -> Int {
            nextNumber += 1
            names[nextNumber] = name
            return nextNumber
        }

        /// Appends `bytes` to file `number`.
        func write(_ bytes: Span<UInt8>, to number: Int) {
            guard bytes.count > 0 else { return }
            buffers[number, default: []].append(copying: bytes)
            buffered += bytes.count
            if buffers[number]!.count >= perFile { flush(number, keepOpen: true) }
            if buffered > total { shrink() }
        }

        /// Writes out the largest buffers until half of the total is left (amortised: one
        /// sort per 32 MiB collected).
        func shrink() {
            let largest = buffers.map { (number: $0.key, count: $0.value.count) }.sorted { $0.count > $1.count }
            for file in largest {
                if buffered <= total / 2 { break }
                flush(file.number, keepOpen: true)
            }
        }

        /// Hands what file `number` has collected to ``FileIO`` (creating the file the first
        /// time); `keepOpen` keeps its descriptor for more.
        func flush(_ number: Int, keepOpen: Bool) {
            let buffer = buffers.removeValue(forKey: number) ?? []
            buffered -= buffer.count
            guard let name = names[number] else { return }
            let before = created.contains(number)
            if !before, buffer.isEmpty { return }  // nothing to write: no file (as tcpflow)
            created.insert(number)
            io.perform(FileIO.Operation(number: number, name: name, append: before, bytes: buffer, keepOpen: keepOpen))
        }

        /// File `number` is complete.
        func close(_ number: Int) {
            flush(number, keepOpen: false)
            created.remove(number)
            names.removeValue(forKey: number)
        }

        /// Writes out everything, closes every file, and waits for the I/O to finish.
        func closeAll() {
            for number in Array(names.keys) { close(number) }
            io.finish()
        }
    }

    /// The file system calls of ``Files``, in order: on the caller's thread, or on a serial
    /// queue of their own (`background`), handed over in batches (64 operations or 4 MiB:
    /// a hand-over per operation cost the reading thread a wake-up each), at most 16
    /// batches waiting, so that memory stays bounded.
    final class FileIO: @unchecked Sendable {
        /// Write `bytes` to file `number` (create it, or append to it), then keep its
        /// descriptor or close it.
        struct Operation: Sendable {
            var number: Int
            var name: String
            var append: Bool
            var bytes: [UInt8]
            var keepOpen: Bool
        }

        let directory: String
        /// Descriptors kept open at most (the limit less some for the capture and the rest).
        let maxOpen = max(16, StandardStream.raiseOpenFileLimit(to: 16_384) - 64)
        /// Touched only by the thread doing the I/O.
        var open: [Int: Int32] = [:]
        var openOrder: [Int] = []
        var firstFailure: CaptureError?
        let queue: DispatchQueue?
        let slots = DispatchSemaphore(value: 16)
        /// The batch being gathered (caller's thread).
        var batch: [Operation] = []
        var batchBytes = 0

        init(directory: String, background: Bool) {
            self.directory = directory
            queue = background ? DispatchQueue(label: "flowtrack.streams.files") : nil
        }

        /// Does `operation` now, or adds it to the batch for the I/O thread.
        func perform(_ operation: Operation) {
            guard queue != nil else { return run(operation) }
            batchBytes += operation.bytes.count
            batch.append(operation)
            if batch.count >= 64 || batchBytes >= 4 << 20 { handOver() }
        }

        /// Hands the batch to the I/O thread (waiting while 16 are queued).
        func handOver() {
            guard let queue, !batch.isEmpty else { return }
            let operations = batch
            batch.removeAll(keepingCapacity: true)
            batchBytes = 0
            slots.wait()
            queue.async {
                for operation in operations { self.run(operation) }
                self.slots.signal()
            }
        }

        /// Waits for every operation handed over.
        func finish() {
            handOver()
            queue?.sync {}
        }

        /// The first failure (read after ``finish()``).
        var failure: CaptureError? { queue.map { $0.sync { firstFailure } } ?? firstFailure }

        func run(_ op: Operation) {
            guard firstFailure == nil else { return }
            var fd = open[op.number] ?? -1
            if fd < 0 {
                if op.bytes.isEmpty { return }  // closed early, nothing more: nothing to do
                let path = directory + "/" + op.name
                switch op.append ? StandardStream.append(path) : StandardStream.create(path) {
                case let .success(descriptor): fd = descriptor
                case let .failure(error):
                    firstFailure = error
                    return
                }
                if op.keepOpen { keep(op.number, fd) }
            }
            if !op.bytes.isEmpty, !StandardStream.write(op.bytes, to: fd) {
                firstFailure = .writeFailed(path: directory + "/" + op.name, message: "write failed")
            }
            if !op.keepOpen {
                StandardStream.close(fd)
                open.removeValue(forKey: op.number)
            }
        }

        /// Keeps `fd` open for file `number`, closing the oldest kept one beyond ``maxOpen``.
        private func keep(_ number: Int, _ fd: Int32) {
            open[number] = fd
            openOrder.append(number)
            if openOrder.count > 4 * maxOpen { openOrder.removeAll { open[$0] == nil } }
            while open.count > maxOpen, !openOrder.isEmpty {
                let oldest = openOrder.removeFirst()
                if let old = open.removeValue(forKey: oldest) { StandardStream.close(old) }
            }
        }
    }

    /// Writes one connection's two directions and its summary.
    struct Writer: StreamHandler {
        let files: Files
        let start: StreamStart
        let zeroHoles: Bool
        var names: [String]
        var numbers: [Int]
        var written = [0, 0], missing = [0, 0]

        init(files: Files, start: StreamStart, zeroHoles: Bool) {
            self.files = files
            self.start = start
            self.zeroHoles = zeroHoles
            let o = StreamsCommand.flowName(start.originator), r = StreamsCommand.flowName(start.responder)
            names = [o + "-" + r + "-" + start.uid, r + "-" + o + "-" + start.uid]
            numbers = [files.file(names[0]), files.file(names[1])]
        }

        mutating func receive(_ bytes: Span<UInt8>, from direction: Direction) {
            let side = direction == .original ? 0 : 1
            files.write(bytes, to: numbers[side])
            written[side] += bytes.count
        }

        mutating func gap(_ length: Int, in direction: Direction) {
            let side = direction == .original ? 0 : 1
            missing[side] += length
            if zeroHoles {
                files.write(Array(repeating: 0, count: length).span, to: numbers[side])
                written[side] += length
            }
        }

        mutating func end(_ reason: StreamEnd) {
            files.close(numbers[0])
            files.close(numbers[1])
            let ended: String
            switch reason {
            case .closed: ended = "closed"
            case .reset: ended = "reset"
            case let .connectionEnded(r): ended = r.description
            case .bufferOverflow: ended = "buffer_overflow"
            }
            let summary = "{\"uid\":\"\(start.uid)\",\"proto\":\"tcp\",\"orig\":\"\(start.originator)\",\"resp\":\"\(start.responder)\","
                + "\"orig_file\":\"\(names[0])\",\"resp_file\":\"\(names[1])\",\"orig_bytes\":\(written[0]),\"resp_bytes\":\(written[1]),"
                + "\"orig_missing\":\(missing[0]),\"resp_missing\":\(missing[1]),\"end\":\"\(ended)\"}\n"
            let json = files.file(start.uid + ".json")
            files.write(Array(summary.utf8).span, to: json)
            files.close(json)
        }
    }

    /// Runs the command, writing to the given sinks, and returns the exit status.
    public func execute(out: inout some TextSink, err: inout some TextSink) -> ExitStatus {
        if let failure = StandardStream.makeDirectory(output) {
            err.writeError("\(failure)")
            return .failure
        }
        let configuration = options.configuration
        let sink = Files(directory: output, threads: TrackingOptions.effectiveThreads(threads))
        var streams = StreamDemultiplexer()
        let zero = holes == "zero", port = self.port
        let factory = { (start: StreamStart) -> (any StreamHandler)? in
            Writer(files: sink, start: start, zeroHoles: zero)
        }
        if let port { streams.register(port: port, factory) } else { streams.registerFallback(factory) }
        var udpFlows: [UInt64: [Int]] = [:]
        if !noUDP {
            let datagrams = { (start: StreamStart, direction: Direction, bytes: Span<UInt8>) in
                let o = Self.flowName(start.originator), r = Self.flowName(start.responder)
                let numbers = udpFlows[start.connectionID]
                    ?? [sink.file(o + "-" + r + "-" + start.uid + ".udp"), sink.file(r + "-" + o + "-" + start.uid + ".udp")]
                udpFlows[start.connectionID] = numbers
                sink.write(bytes, to: numbers[direction == .original ? 0 : 1])
            }
            if let port { streams.registerDatagrams(port: port, datagrams) } else { streams.registerDatagramFallback(datagrams) }
        }
        var tracker = FlowTracker(configuration: configuration)
        do throws(CaptureError) {
            try tracker.run(files: self.files, streams: &streams) { event in
                if case let .ended(c) = event, let names = udpFlows.removeValue(forKey: c.id) {
                    sink.close(names[0])
                    sink.close(names[1])
                }
            }
            tracker.finish { streams.event($0) }
        } catch {
            sink.closeAll()
            err.writeError("\(error)")
            return ExitStatus(error)
        }
        sink.closeAll()
        if let failure = sink.failure {
            err.writeError("\(failure)")
            return .failure
        }
        let s = streams.statistics
        err.write("flowtrack: \(s.streams) TCP streams, \(s.datagrams) UDP datagrams, \(s.deliveredBytes) bytes written, "
                  + "\(s.gapBytes) missing, \(s.overflows) buffer overflows\n")
        return .success
    }
}
