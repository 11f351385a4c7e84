module proxyd.dev/scripts/desync

go 1.26.0

require (
	golang.org/x/net v0.62.0
	proxyd.dev/fuzz v0.0.0
	proxyd.dev/wire v0.0.0
)

require (
	golang.org/x/sys v0.50.0 // indirect
	golang.org/x/text v0.43.0 // indirect
)

replace proxyd.dev/fuzz => ../../fuzz

replace proxyd.dev/router => ../../router

replace proxyd.dev/wire => ../../wire
