module proxyd.dev/integration

go 1.26
