import FlowTrackCLI

FlowTrackCommand.main()
