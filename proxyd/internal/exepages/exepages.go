// Package exepages lets go of the pages of the program's own executable that only starting it used.
//
// A Go program maps its executable file and the kernel fills the mapping page by page on first
// touch, each fault bringing in its neighbours too (64 KiB of them on Linux). Starting proxyd
// (package initialisation, parsing the command line, compiling the routes) touches code and tables
// all over the file that serving requests never needs again, and they stay in the resident set.
// Release drops them from the process's page tables; what serving uses comes back on first use,
// from the page cache, without reading the disk.
package exepages
