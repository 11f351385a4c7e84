package main

import (
	"log"
	"net/http"

	"github.com/coder/websocket"

	"proxyd.dev/integration/backend/api"
)

// serveWebSocketEcho accepts a WebSocket and echoes every message with its type, until the
// client closes or sends api.CloseMe, on which the server closes with status 1000.
func serveWebSocketEcho(w http.ResponseWriter, r *http.Request) {
	// The test clients connect from other origins (through the proxy); there is no browser here.
	c, err := websocket.Accept(w, r, &websocket.AcceptOptions{InsecureSkipVerify: true})
	if err != nil {
		log.Printf("websocket accept: %v", err)
		return
	}
	defer c.CloseNow()
	c.SetReadLimit(api.MaxMessageSize)
	ctx := r.Context()
	for {
		typ, msg, err := c.Read(ctx)
		if err != nil {
			log.Printf("websocket read: %v", err)
			return
		}
		if typ == websocket.MessageText && string(msg) == api.CloseMe {
			if err := c.Close(websocket.StatusNormalClosure, "closing as asked"); err != nil {
				log.Printf("websocket close: %v", err)
			}
			return
		}
		if err := c.Write(ctx, typ, msg); err != nil {
			log.Printf("websocket write: %v", err)
			return
		}
	}
}
