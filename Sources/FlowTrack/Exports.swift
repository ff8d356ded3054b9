@_exported import Flows
@_exported import Packets
@_exported import Pcap
