import FlowTrackCLI

FlowTrackCommand.runMain()
