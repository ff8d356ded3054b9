/// Routes connection events by server port, the way a listening socket receives the
/// connections for its port.
///
/// Register a handler for a protocol and a port or port range; each event goes to the
/// first registration whose range holds the connection's server port (see
/// `Connection.server`), else to the fallback, in packet order. Connections that
/// match nothing are counted per port.
///
/// Count the web connections (ports 80 to 89) and the connections to every other server port:
///
/// ```swift
/// var demux = PortDemultiplexer()
/// var web = 0
/// var others: [UInt16: Int] = [:]
/// demux.register(.tcp, ports: 80...89) { event in if case .ended = event { web += 1 } }
/// demux.registerFallback { event in
///     if case let .ended(c) = event { others[c.server.port, default: 0] += 1 }
/// }
/// var tracker = FlowTracker()
/// try tracker.run(file: "trace.pcap") { demux.dispatch($0) }
/// tracker.finish { demux.dispatch($0) }
/// print(web, "web connections;", others.count, "other server ports")
/// ```
///
/// ``stream(_:ports:)`` gives the same events for a port as an `AsyncSequence`.
public struct PortDemultiplexer {
    struct Route {
        var transport: TransportProtocol
        var ports: ClosedRange<UInt16>
        var handler: (ConnectionEvent) -> Void
    }

    var routes: [Route] = []
    var fallback: ((ConnectionEvent) -> Void)?
    /// Connections whose server port no registration (and no fallback) took, by protocol and port.
    public private(set) var unregistered: [TransportProtocol: [UInt16: Int]] = [:]
    /// Connections routed to a registered handler.
    public private(set) var routed = 0

    /// An empty demultiplexer.
    public init() {}

    /// Sends the events of connections to `port` of `transport` to `handler`.
    public mutating func register(_ transport: TransportProtocol, port: UInt16, _ handler: @escaping (ConnectionEvent) -> Void) {
        register(transport, ports: port...port, handler)
    }

    /// Sends the events of connections to any port in `ports` to `handler`.
    public mutating func register(_ transport: TransportProtocol, ports: ClosedRange<UInt16>,
                                  _ handler: @escaping (ConnectionEvent) -> Void) {
        routes.append(Route(transport: transport, ports: ports, handler: handler))
    }

    /// Sends events that no registration takes to `handler`.
    public mutating func registerFallback(_ handler: @escaping (ConnectionEvent) -> Void) {
        fallback = handler
    }

    /// The events for connections to `ports` of `transport`, as an asynchronous
    /// sequence. It ends when ``finish()`` is called.
    public mutating func stream(_ transport: TransportProtocol, ports: ClosedRange<UInt16>) -> AsyncStream<ConnectionEvent> {
        let (stream, continuation) = AsyncStream<ConnectionEvent>.makeStream(bufferingPolicy: .unbounded)
        continuations.append(continuation)
        register(transport, ports: ports) { continuation.yield($0) }
        return stream
    }

    var continuations: [AsyncStream<ConnectionEvent>.Continuation] = []

    /// Ends every stream made by ``stream(_:ports:)``.
    public mutating func finish() {
        for c in continuations { c.finish() }
        continuations.removeAll()
    }

    /// Routes one event by its connection's server port.
    public mutating func dispatch(_ event: ConnectionEvent) {
        let c = event.connection
        let port = c.server.port
        for route in routes where route.transport == c.transport && route.ports.contains(port) {
            if case .ended = event { routed += 1 }
            route.handler(event)
            return
        }
        if let fallback {
            fallback(event)
        } else if case .ended = event {
            unregistered[c.transport, default: [:]][port, default: 0] += 1
        }
    }

    /// Connections that matched no registration, in all.
    public var unregisteredCount: Int { unregistered.values.reduce(0) { $0 + $1.values.reduce(0, +) } }
}
