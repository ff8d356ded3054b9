@testable import FlowTrack
import Foundation
import Synchronization
import Testing

/// The asynchronous event sequence: the same events as the synchronous run, typed
/// failures, bounded buffering against a slow consumer, and cancellation mid-file.
/// Fixtures/many-flows.pcap (make_many_flows.py): 3,000 UDP exchanges, 6,000 packets.
@Suite struct AsyncEventsTests {
    static let manyFlows = Paths.fixture("many-flows.pcap")

    static func startedAndEnded() -> TrackerConfiguration {
        var configuration = TrackerConfiguration()
        configuration.events = [.started, .ended]
        return configuration
    }

    @Test func asyncEventsEqualTheSynchronousRun() async throws {
        let configuration = Self.startedAndEnded()
        var pipeline = FlowTracker(configuration: configuration)
        var expected: [String] = []
        let record = { (event: ConnectionEvent) in
            switch event {
            case let .started(c): expected.append("started \(c.uid)")
            case let .ended(c): expected.append("ended \(c.uid) \(c.connState) \(c.originatorCounters.packets)")
            case let .stateChanged(c): expected.append("changed \(c.uid)")
            }
        }
        try pipeline.run(file: Self.manyFlows, record)
        pipeline.finish(record)
        #expect(expected.count == 6000)

        var seen: [String] = []
        for try await event in FlowTracker.events(files: [Self.manyFlows], configuration: configuration) {
            switch event {
            case let .started(c): seen.append("started \(c.uid)")
            case let .ended(c): seen.append("ended \(c.uid) \(c.connState) \(c.originatorCounters.packets)")
            case let .stateChanged(c): seen.append("changed \(c.uid)")
            }
        }
        #expect(seen == expected)
    }

    @Test func failuresAreTypedCaptureErrors() async {
        var caught: String?
        do {
            for try await _ in FlowTracker.events(files: ["/nonexistent/trace.pcap"]) {}
        } catch .fileNotFound(let path, _) {
            caught = path
        } catch {
            caught = "other: \(error)"
        }
        #expect(caught == "/nonexistent/trace.pcap")
    }

    @Test func aDamagedFileStopsTheSequenceByDefault() async {
        // A file cut in its last record: every event before the damage, then the error.
        var events = 0
        var failure: CaptureError?
        do {
            for try await _ in FlowTracker.events(files: [Paths.fixture("cut-mid-record.pcap")]) { events += 1 }
        } catch {
            failure = error
        }
        #expect(failure?.isDamagedRecord == true)
        #expect(events > 0, "the connections read before the damage end before the error")
    }

    @Test func damagedFilesCanBeSkippedAndReported() async throws {
        let reported = Mutex<[String]>([])
        let files = [Paths.fixture("cut-mid-record.pcap"), "/nonexistent/trace.pcap", Self.manyFlows]
        var ended = 0
        for try await event in FlowTracker.events(files: files, onFailure: .skipAndReport { path, _ in
            reported.withLock { $0.append(path) }
        }) {
            if case .ended = event { ended += 1 }
        }
        #expect(reported.withLock { $0 }.sorted() == [files[1], files[0]].sorted())
        #expect(ended >= 3000, "many-flows.pcap was read after the failures")
    }

    @Test func aSlowConsumerHoldsTheReaderBack() async throws {
        // 32 events at most wait in the buffer (2 batches of 16) while the consumer sleeps,
        // whatever the capture holds: memory stays bounded instead of growing with the file.
        let events = FlowTracker.events(files: [Self.manyFlows], configuration: Self.startedAndEnded())
            .buffering(batchSize: 16, bufferedBatches: 2)
        var iterator = events.makeAsyncIterator()
        var count = 0
        while let _ = try await iterator.next() {
            count += 1
            if count % 500 == 0 { try await Task.sleep(for: .milliseconds(20)) }
        }
        #expect(count == 6000)
        let peak = iterator.subscription.channel.peakBuffered.load(ordering: .relaxed)
        #expect(peak > 0 && peak <= 32, "peak \(peak) events buffered")
    }

    @Test func leavingTheLoopStopsTheReadingMidFile() async throws {
        let events = FlowTracker.events(files: [Self.manyFlows], configuration: Self.startedAndEnded())
            .buffering(batchSize: 16, bufferedBatches: 2)
        var iterator: ConnectionEvents<CaptureError>.Iterator? = events.makeAsyncIterator()
        let channel = iterator!.subscription.channel
        _ = try await iterator!.next()
        let clock = ContinuousClock()
        let left = clock.now
        iterator = nil  // what `break` does: the reader is told to stop
        let deadline = clock.now + .seconds(10)
        while channel.packetsRead.load(ordering: .relaxed) < 0, clock.now < deadline {
            try await Task.sleep(for: .milliseconds(1))
        }
        let read = channel.packetsRead.load(ordering: .relaxed)
        #expect(read >= 0, "the reader finished")
        #expect(read < 6000, "stopped after \(read) of 6000 packets")
        print("reader stopped after \(read) of 6000 packets, \(clock.now - left) after the consumer left")
    }

    @Test func cancellingTheConsumerStopsTheReading() async throws {
        let events = FlowTracker.events(files: [Self.manyFlows], configuration: Self.startedAndEnded())
            .buffering(batchSize: 16, bufferedBatches: 2)
        let channel = Mutex<EventChannel<CaptureError>?>(nil)
        let consumer = Task {
            var iterator = events.makeAsyncIterator()
            channel.withLock { $0 = iterator.subscription.channel }
            var count = 0
            while let _ = try await iterator.next() {
                count += 1
                try? await Task.sleep(for: .milliseconds(5))
            }
            return count
        }
        try await Task.sleep(for: .milliseconds(50))
        consumer.cancel()
        let count = try await consumer.value
        #expect(count < 6000)
        let reader = try #require(channel.withLock { $0 })
        let clock = ContinuousClock()
        let deadline = clock.now + .seconds(10)
        while reader.packetsRead.load(ordering: .relaxed) < 0, clock.now < deadline {
            try await Task.sleep(for: .milliseconds(1))
        }
        let read = reader.packetsRead.load(ordering: .relaxed)
        #expect(read >= 0 && read < 6000, "stopped after \(read) of 6000 packets")
    }

    @Test @MainActor func batchesOnTheMainActor() async throws {
        // One suspension per batch: a main-actor consumer sees every event.
        var events = 0, batches = 0
        for try await batch in FlowTracker.events(files: [Self.manyFlows], configuration: Self.startedAndEnded()).batches {
            batches += 1
            events += batch.count
            #expect(!batch.isEmpty && batch.count <= 256)
        }
        #expect(events == 6000 && batches >= 6000 / 256)
    }
}
