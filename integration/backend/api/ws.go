package api

// CloseMe is the text message that makes the ModeWS backend close the connection itself (status
// 1000) instead of echoing it.
const CloseMe = "close-me"

// MaxMessageSize is the largest WebSocket message the ModeWS backend accepts (16 MiB).
const MaxMessageSize = 16 << 20
