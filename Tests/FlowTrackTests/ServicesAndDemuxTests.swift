import FlowTrack
import Testing

@Suite struct ServicesTests {
    @Test(arguments: [
        (TransportProtocol.tcp, UInt16(80), "http"), (.tcp, 443, "https"), (.tcp, 22, "ssh"), (.udp, 53, "domain"),
        (.tcp, 53, "domain"), (.udp, 123, "ntp"), (.udp, 443, "https"), (.tcp, 25, "smtp"),
    ] as [(TransportProtocol, UInt16, String)])
    func namesFromNetbase(_ transport: TransportProtocol, _ port: UInt16, _ name: String) {
        #expect(Services.name(transport, port: port) == name)
    }

    @Test func unknownPortsAndProtocolsHaveNoName() {
        #expect(Services.name(.tcp, port: 47_001) == nil)
        #expect(Services.name(.icmp, port: 8) == nil)
        #expect(Services.name(.udp, port: 80) == nil)  // http is registered for TCP only in netbase
    }

    @Test func ephemeralRanges() {
        #expect(!Services.isEphemeral(32767) && Services.isEphemeral(32768) && Services.isEphemeral(60999))
        #expect(Services.isEphemeral(49152) && Services.isEphemeral(65535) && !Services.isEphemeral(8080))
    }

    @Test(arguments: [
        // (orig port, resp port, first SYN from originator?, originator is server?)
        (UInt16(40000), UInt16(80), true as Bool?, false),   // the SYN's receiver is the server
        (80, 40000, false, true),                            // the SYN came from the responder
        (80, 40000, nil, true),                              // no SYN: the likely server port
        (40000, 80, nil, false),
        (443, 80, nil, false),                               // both likely: the lower port
        (9000, 40000, nil, true),                            // neither likely: the non-ephemeral one
        (40000, 9000, nil, false),
        (5001, 5002, nil, true),                             // both non-ephemeral: the lower
        (50000, 60000, nil, false),                          // both ephemeral: the responder
    ] as [(UInt16, UInt16, Bool?, Bool)])
    func serverRules(_ o: UInt16, _ r: UInt16, _ syn: Bool?, _ originatorIsServer: Bool) {
        #expect(Services.originatorIsServer(transport: .tcp, originatorPort: o, responderPort: r, firstSYNFromOriginator: syn)
                == originatorIsServer)
    }

    @Test func connectionsKnowTheirServer() throws {
        // make_conn.py: the SYN-ACK from 10.0.0.2:80 came first (flipped at creation);
        // the flip-h capture has no SYN and ports 9000/40000; the reversal one has a SYN from the client.
        let rstrh = try track([Paths.fixture("conn-rstrh.pcap")]).rows[0]
        #expect(rstrh.server == Endpoint(IPAddress("10.0.0.2")!, 80) && rstrh.service == "http")
        let flip = try track([Paths.fixture("conn-flip-h.pcap")]).rows[0]
        #expect(flip.server.port == 9000 && flip.client.port == 40000 && flip.service == nil)
        let reversal = try track([Paths.fixture("conn-reversal.pcap")]).rows[0]
        #expect(reversal.server == Endpoint(IPAddress("10.0.0.2")!, 9000))
        let udp = try track([Paths.fixture("conn-udp.pcap")]).rows
        #expect(udp.map { $0.server.port } == [53, 53, 67])
        #expect(udp.map(\.service) == ["domain", "domain", "bootps"])
        // The DHCP offer's sender is the server even though it sent to the client's port 68.
        #expect(udp[2].server.address == IPAddress("10.0.0.1"))
    }
}

@Suite struct PortDemultiplexerTests {
    @Test func routesByServerPortInPacketOrder() throws {
        var http: [String] = [], dns: [String] = [], other: [String] = []
        var demux = PortDemultiplexer()
        demux.register(.tcp, port: 80) { http.append(Self.describe($0)) }
        demux.register(.udp, ports: 53...53) { dns.append(Self.describe($0)) }
        demux.registerFallback { other.append(Self.describe($0)) }
        var configuration = TrackerConfiguration()
        configuration.events = .all
        var tracker = FlowTracker(configuration: configuration)
        for file in ["conn-sf.pcap", "conn-udp.pcap"] {
            try tracker.run(file: Paths.fixture(file)) { demux.dispatch($0) }
        }
        tracker.finish { demux.dispatch($0) }
        #expect(http.first == "started SYN_SENT")
        #expect(http.last == "ended SF")
        #expect(http.filter { $0.hasPrefix("changed") }.count == 5)
        #expect(dns.filter { $0.hasPrefix("ended") } == ["ended SF", "ended SHR"])
        #expect(other.filter { $0.hasPrefix("ended") } == ["ended S0"])  // the DHCP offer to port 67
        #expect(demux.routed == 3 && demux.unregisteredCount == 0)
    }

    @Test func unregisteredPortsAreCounted() throws {
        var demux = PortDemultiplexer()
        var seen = 0
        demux.register(.tcp, port: 80) { _ in seen += 1 }
        var tracker = FlowTracker()
        try tracker.run(file: Paths.fixture("conn-udp.pcap")) { demux.dispatch($0) }
        tracker.finish { demux.dispatch($0) }
        #expect(seen == 0)
        #expect(demux.unregistered[.udp] == [53: 2, 67: 1])
        #expect(demux.unregisteredCount == 3)
    }

    @Test func perPortAsyncSequence() async throws {
        var demux = PortDemultiplexer()
        let stream = demux.stream(.udp, ports: 53...53)
        var tracker = FlowTracker()
        try tracker.run(file: Paths.fixture("conn-udp.pcap")) { demux.dispatch($0) }
        tracker.finish { demux.dispatch($0) }
        demux.finish()
        var states: [ConnState] = []
        for await event in stream { if case let .ended(c) = event { states.append(c.connState) } }
        #expect(states == [.sf, .shr])
    }

    static func describe(_ event: ConnectionEvent) -> String {
        switch event {
        case let .started(c): return "started \(c.tcpState?.description ?? c.connState.description)"
        case let .stateChanged(c): return "changed \(c.tcpState?.description ?? "") \(c.connState)"
        case let .ended(c): return "ended \(c.connState)"
        }
    }
}
