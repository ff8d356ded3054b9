@testable import Flows
import Testing
import TestSupport

@Suite struct FlowKeyTests {
    let a = Endpoint(IPAddress("10.0.0.1")!, 40000)
    let b = Endpoint(IPAddress("10.0.0.2")!, 80)

    @Test func bothDirectionsGiveTheSameKey() {
        let forward = FlowKey(ipProtocol: 6, source: a, destination: b)
        let backward = FlowKey(ipProtocol: 6, source: b, destination: a)
        #expect(forward == backward)
        #expect(forward.tableHash == backward.tableHash)
        #expect(forward.a == a && forward.b == b)  // the lower (address, port) first
        #expect(forward.isFromA(source: a.address, port: a.port))
        #expect(!forward.isFromA(source: b.address, port: b.port))
    }

    @Test func portsAndProtocolDistinguishFlows() {
        let base = FlowKey(ipProtocol: 6, source: a, destination: b)
        #expect(base != FlowKey(ipProtocol: 17, source: a, destination: b))
        #expect(base != FlowKey(ipProtocol: 6, source: Endpoint(a.address, 40001), destination: b))
        // Same addresses, ports swapped between hosts: a different connection.
        #expect(base != FlowKey(ipProtocol: 6, source: Endpoint(a.address, 80), destination: Endpoint(b.address, 40000)))
    }

    @Test func sameAddressOrdersByPort() {
        let lo = IPAddress("127.0.0.1")!
        let k = FlowKey(ipProtocol: 6, source: Endpoint(lo, 47001), destination: Endpoint(lo, 40000))
        #expect(k.a.port == 40000 && k.b.port == 47001)
    }

    @Test func oneWayKeysKeepTheirOrder() {
        let k1 = FlowKey(ipProtocol: 1, source: b, destination: a, canonical: false)
        let k2 = FlowKey(ipProtocol: 1, source: a, destination: b, canonical: false)
        #expect(k1 != k2)
        #expect(k1.isOneWay && k1.a == b)
        #expect(k1 != FlowKey(ipProtocol: 1, source: b, destination: a))
    }

    @Test func ipv6Keys() {
        let x = Endpoint(IPAddress("2001:db8::1")!, 1), y = Endpoint(IPAddress("2001:db8::2")!, 2)
        let k = FlowKey(ipProtocol: 17, source: y, destination: x)
        #expect(k.isIPv6 && k.a == x && k.b == y)
        #expect(MemoryLayout<FlowKey>.size <= 40)
    }
}

@Suite struct FlowTableTests {
    func key(_ i: Int) -> FlowKey {
        FlowKey(ipProtocol: 6, source: Endpoint(IPAddress(ipv4: UInt32(0x0A00_0000 + i / 50_000)), UInt16(i % 50_000)),
                destination: Endpoint(IPAddress(ipv4: 0xC000_0201), 443))
    }

    @Test func insertFindRemoveAgreeWithADictionary() {
        var table = FlowTable<Int>(capacity: 16)
        var model: [FlowKey: Int] = [:]
        var entries: [FlowKey: Int] = [:]
        var rng = SplitMix64(seed: 7)
        for step in 0..<60_000 {
            let k = key(Int(rng.next() % 5_000))
            if let e = table.find(k) {
                #expect(model[k] == table[e])
                if rng.next() % 3 == 0 {
                    table.remove(at: e)
                    model[k] = nil
                    entries[k] = nil
                } else {
                    table[e] = step
                    model[k] = step
                }
            } else {
                #expect(model[k] == nil)
                entries[k] = table.insert(k, step)
                model[k] = step
            }
        }
        #expect(table.count == model.count)
        for (k, v) in model {
            let e = table.find(k)
            #expect(e != nil && table[e!] == v && table.key(at: e!) == k)
        }
        #expect(Set(table.entries).count == model.count)
    }

    @Test func growsPastItsInitialCapacity() {
        var table = FlowTable<UInt32>(capacity: 4)
        for i in 0..<100_000 { _ = table.insert(key(i), UInt32(i)) }
        #expect(table.count == 100_000)
        for i in stride(from: 0, to: 100_000, by: 997) { #expect(table[table.find(key(i))!] == UInt32(i)) }
        #expect(table.find(key(100_001)) == nil)
    }

    @Test func removedEntriesAreRecycled() {
        var table = FlowTable<Int>(capacity: 16)
        let e = table.insert(key(1), 1)
        table.remove(at: e)
        let again = table.insert(key(2), 2)
        #expect(again == e)
        #expect(table.find(key(1)) == nil && table[table.find(key(2))!] == 2)
    }
}

