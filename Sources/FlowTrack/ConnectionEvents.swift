import Dispatch
import Flows
import Synchronization

/// The events of a capture as an asynchronous sequence with backpressure and typed failure.
///
/// Nothing is read until the sequence is iterated; each iteration reads the capture anew on
/// a reading thread of its own (libpcap reads block, so they stay off the concurrency pool).
/// The reader hands events over in batches through a bounded buffer of
/// ``bufferedBatches`` batches of up to ``batchSize`` events and waits while the buffer is
/// full, so a slow consumer slows the reading instead of letting memory grow.
/// Leaving the loop (`break`, `return`, a thrown error) or cancelling the consuming task
/// stops the reading within about a thousand packets, also in the middle of a file.
///
/// ```swift
/// do {
///     for try await event in FlowTracker.events(files: ["trace.pcap"]) {
///         if case let .ended(c) = event { print(c) }
///     }
/// } catch .fileNotFound(let path, _) {
///     print("no such file:", path)
/// } catch {
///     print(error)   // a CaptureError
/// }
/// ```
///
/// On the main actor, each event that is already buffered is returned without a suspension;
/// the consumer suspends (and hops off the actor) once per batch. To handle a batch in one
/// step, iterate ``batches`` instead.
public struct ConnectionEvents<Failure: Error>: AsyncSequence, Sendable {
    /// Each element is one connection event, in packet order.
    public typealias Element = ConnectionEvent

    /// Events per batch handed from the reader to the consumer.
    public let batchSize: Int
    /// Batches the buffer holds before the reader waits for the consumer.
    public let bufferedBatches: Int
    /// Reads the capture on the reading thread, sending batches through the channel.
    let produce: @Sendable (EventChannel<Failure>) -> Void

    init(batchSize: Int = 256, bufferedBatches: Int = 8, produce: @escaping @Sendable (EventChannel<Failure>) -> Void) {
        self.batchSize = Swift.max(1, batchSize)
        self.bufferedBatches = Swift.max(1, bufferedBatches)
        self.produce = produce
    }

    /// The same sequence with another buffer: at most `bufferedBatches` batches of
    /// `batchSize` events wait for the consumer (memory bound: their product in events).
    public func buffering(batchSize: Int, bufferedBatches: Int) -> ConnectionEvents {
        ConnectionEvents(batchSize: batchSize, bufferedBatches: bufferedBatches, produce: produce)
    }

    /// Starts the reading and returns the iterator that consumes it.
    public func makeAsyncIterator() -> Iterator { Iterator(subscription: start()) }

    /// Starts a reader on a thread of its own, feeding a new channel.
    func start() -> Subscription<Failure> {
        let channel = EventChannel<Failure>(capacity: bufferedBatches, batchSize: batchSize)
        let produce = self.produce
        DispatchQueue(label: "FlowTrack.reader").async { produce(channel) }
        return Subscription(channel)
    }

    /// The events in the batches the reader hands over (each non-empty, in packet order):
    /// one suspension per batch, the cheapest way to consume on the main actor.
    public var batches: Batches { Batches(events: self) }

    /// Consumes the events; dropping it stops the reading.
    public struct Iterator: AsyncIteratorProtocol {
        let subscription: Subscription<Failure>
        var batch: [ConnectionEvent] = []
        var index = 0

        /// The next event, `nil` at the end of the capture or after cancellation.
        /// - Throws: the failure that ended the reading (after every event before it).
        public mutating func next(isolation actor: isolated (any Actor)? = #isolation) async throws(Failure) -> ConnectionEvent? {
            while index == batch.count {
                guard let next = try await subscription.channel.receive() else { return nil }
                batch = next
                index = 0
            }
            defer { index += 1 }
            return batch[index]
        }

        /// The next event, `nil` at the end of the capture or after cancellation.
        public mutating func next() async throws(Failure) -> ConnectionEvent? {
            try await next(isolation: nil)
        }
    }

    /// The events of ``ConnectionEvents`` a batch at a time.
    public struct Batches: AsyncSequence, Sendable {
        /// A batch: one or more events in packet order.
        public typealias Element = [ConnectionEvent]
        let events: ConnectionEvents

        /// Starts the reading and returns the iterator that consumes it.
        public func makeAsyncIterator() -> Iterator { Iterator(subscription: events.start()) }

        /// Consumes the batches; dropping it stops the reading.
        public struct Iterator: AsyncIteratorProtocol {
            let subscription: Subscription<Failure>

            /// The next batch, `nil` at the end of the capture or after cancellation.
            /// - Throws: the failure that ended the reading (after every batch before it).
            public mutating func next(isolation actor: isolated (any Actor)? = #isolation) async throws(Failure) -> [ConnectionEvent]? {
                try await subscription.channel.receive()
            }

            /// The next batch, `nil` at the end of the capture or after cancellation.
            public mutating func next() async throws(Failure) -> [ConnectionEvent]? {
                try await subscription.channel.receive()
            }
        }
    }
}

/// Cancels the reading when the last iterator holding it goes away (`break` out of a loop).
final class Subscription<Failure: Error>: Sendable {
    let channel: EventChannel<Failure>
    init(_ channel: EventChannel<Failure>) { self.channel = channel }
    deinit { channel.cancel() }
}

/// The bounded hand-over between the reading thread and the consumer.
final class EventChannel<Failure: Error>: Sendable {
    struct State {
        var ready: [[ConnectionEvent]] = []
        var end: Result<Void, Failure>?
        var waiting: CheckedContinuation<Void, Never>?
        var cancelled = false
    }

    let state = Mutex(State())
    /// Touched at the start and end of every critical section: ThreadSanitizer cannot see
    /// the standard library's `Mutex` synchronise (its lock lives in code built without
    /// TSan's instrumentation), but it sees these acquire-release operations order the
    /// sections, so it checks the channel instead of reporting every hand-over as a race.
    let order = Atomic<Int>(0)

    /// Runs `body` with the state locked.
    func locked<R>(_ body: (inout State) -> sending R) -> sending R {
        state.withLock { s in
            order.add(1, ordering: .acquiringAndReleasing)
            defer { order.add(1, ordering: .acquiringAndReleasing) }
            return body(&s)
        }
    }
    /// Free places in the buffer: the reader takes one per batch, the consumer gives it back.
    let space: DispatchSemaphore
    /// Raised on cancellation (and by a reader that stops on a failure); the reading loop
    /// checks it every 1024 packets.
    let stop = CaptureStop()
    let batchSize: Int
    /// The most events that were waiting in the buffer at once (for tests and tuning).
    let peakBuffered = Atomic<Int>(0)
    /// The packets the reader had read when it stopped; -1 while it reads.
    let packetsRead = Atomic<Int>(-1)

    /// Set once the consumer has gone.
    let cancelled = Atomic<Bool>(false)

    init(capacity: Int, batchSize: Int) {
        // Created empty and filled: libdispatch refuses to dispose of a semaphore whose
        // count is below the one it was created with.
        space = DispatchSemaphore(value: 0)
        for _ in 0..<capacity { space.signal() }
        self.batchSize = batchSize
    }

    // MARK: Reader side

    /// Hands a batch to the consumer, waiting while the buffer is full; `false` once the
    /// consumer has gone (the reader should stop).
    @discardableResult
    func send(_ batch: [ConnectionEvent]) -> Bool {
        guard !cancelled.load(ordering: .relaxed) else { return false }
        guard !batch.isEmpty else { return true }
        space.wait()
        let (waiting, accepted, buffered) = locked { s -> (CheckedContinuation<Void, Never>?, Bool, Int) in
            guard !s.cancelled else { return (nil, false, 0) }
            s.ready.append(batch)
            let w = s.waiting
            s.waiting = nil
            return (w, true, s.ready.reduce(0) { $0 + $1.count })
        }
        if accepted { peakBuffered.raise(to: buffered) }
        waiting?.resume()
        return accepted
    }

    /// The reading is over after `packets` packets: success after the last batch, or the
    /// failure that ended it.
    func finish(_ result: Result<Void, Failure>, packets: Int) {
        packetsRead.store(packets, ordering: .relaxed)
        let waiting = locked { s -> CheckedContinuation<Void, Never>? in
            if s.end == nil { s.end = result }
            let w = s.waiting
            s.waiting = nil
            return w
        }
        waiting?.resume()
    }

    // MARK: Consumer side

    /// The next batch; `nil` at the end or after cancellation.
    func receive() async throws(Failure) -> [ConnectionEvent]? {
        while true {
            let outcome = locked { s -> ReceiveOutcome<Failure> in
                if !s.ready.isEmpty { return .batch(s.ready.removeFirst()) }
                if s.cancelled { return .end(.success(())) }
                if let end = s.end { return .end(end) }
                return .wait
            }
            switch outcome {
            case let .batch(batch):
                space.signal()
                return batch
            case let .end(result):
                try result.get()
                return nil
            case .wait:
                if Task.isCancelled { cancel(); return nil }
                await withTaskCancellationHandler {
                    await withCheckedContinuation { (continuation: CheckedContinuation<Void, Never>) in
                        let resumeNow = locked { s -> Bool in
                            if !s.ready.isEmpty || s.end != nil || s.cancelled { return true }
                            s.waiting = continuation
                            return false
                        }
                        if resumeNow { continuation.resume() }
                    }
                } onCancel: {
                    cancel()
                }
            }
        }
    }

    /// The consumer has gone: the reader stops at its next check and never waits again.
    func cancel() {
        cancelled.store(true, ordering: .relaxed)
        stop.stop()
        let waiting = locked { s -> CheckedContinuation<Void, Never>? in
            guard !s.cancelled else { return nil }
            s.cancelled = true
            s.ready.removeAll()
            let w = s.waiting
            s.waiting = nil
            return w
        }
        space.signal()  // a reader waiting for space wakes, sees the cancellation and stops
        waiting?.resume()
    }
}

extension Atomic where Value == Int {
    /// Raises the value to `candidate` if it is larger.
    func raise(to candidate: Int) {
        var current = load(ordering: .relaxed)
        while candidate > current {
            let (exchanged, original) = compareExchange(expected: current, desired: candidate, ordering: .relaxed)
            if exchanged { return }
            current = original
        }
    }
}

/// What the consumer finds in the channel.
enum ReceiveOutcome<Failure: Error> {
    case batch([ConnectionEvent]), end(Result<Void, Failure>), wait
}

/// Collects a reader's events into batches for a channel.
struct EventBatcher<Failure: Error> {
    let channel: EventChannel<Failure>
    var batch: [ConnectionEvent] = []

    init(_ channel: EventChannel<Failure>) {
        self.channel = channel
        batch.reserveCapacity(channel.batchSize)
    }

    /// Adds an event, handing the batch over when it is full.
    mutating func add(_ event: ConnectionEvent) {
        batch.append(event)
        if batch.count >= channel.batchSize { flush() }
    }

    /// Hands over what has been collected.
    mutating func flush() {
        guard !batch.isEmpty else { return }
        channel.send(batch)
        batch = []
        batch.reserveCapacity(channel.batchSize)
    }
}
