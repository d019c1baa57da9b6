// gcoffsets prints the offsets heapscope reads from runtime.gcControllerState, taken from the
// DWARF of a Go binary built with symbols: the oracle for user/gc.c's per-version table.
//
//	usage: gcoffsets BINARY
//	output: one "NAME OFFSET SIZE" line per field, "size SIZE" for the struct; a missing field
//	prints OFFSET -1.
package main

import (
	"debug/dwarf"
	"debug/elf"
	"fmt"
	"os"
)

var fields = []string{"gcPercent", "memoryLimit", "heapMarked", "lastHeapGoal",
	"assistTime", "dedicatedMarkTime", "fractionalMarkTime", "idleMarkTime"}

func main() {
	if len(os.Args) != 2 {
		fmt.Fprintln(os.Stderr, "usage: gcoffsets BINARY")
		os.Exit(2)
	}
	f, err := elf.Open(os.Args[1])
	if err != nil {
		fmt.Fprintln(os.Stderr, err)
		os.Exit(1)
	}
	d, err := f.DWARF()
	if err != nil {
		fmt.Fprintln(os.Stderr, err)
		os.Exit(1)
	}
	r := d.Reader()
	for {
		e, err := r.Next()
		if err != nil || e == nil {
			fmt.Fprintln(os.Stderr, "runtime.gcControllerState not found")
			os.Exit(1)
		}
		if e.Tag != dwarf.TagStructType || e.Val(dwarf.AttrName) != "runtime.gcControllerState" {
			continue
		}
		t, err := d.Type(e.Offset)
		if err != nil {
			fmt.Fprintln(os.Stderr, err)
			os.Exit(1)
		}
		st := t.(*dwarf.StructType)
		fmt.Printf("size %d\n", st.ByteSize)
		for _, name := range fields {
			off, size := int64(-1), int64(0)
			for _, m := range st.Field {
				if m.Name == name {
					off, size = m.ByteOffset, m.Type.Size()
				}
			}
			fmt.Printf("%s %d %d\n", name, off, size)
		}
		return
	}
}
