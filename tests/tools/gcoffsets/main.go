// gcoffsets prints the struct field offsets heapscope hard-codes per Go version, taken from the
// DWARF of a Go binary built with symbols: the oracle for user/goruntime/goruntime.c's tables.
//
//	usage: gcoffsets BINARY                      the fields of runtime.gcControllerState read
//	       gcoffsets BINARY TYPE.FIELD ...       any fields, e.g. runtime.m.p runtime.mcache.nextSample
//	       gcoffsets BINARY sizeof:TYPE ...      a struct's size, e.g. sizeof:runtime.bucket
//	output: one "NAME OFFSET SIZE" line per field, "size SIZE" for gcControllerState, and
//	"sizeof:TYPE SIZE 0" per size asked; a missing field or type prints OFFSET (or SIZE) -1.
package main

import (
	"debug/dwarf"
	"debug/elf"
	"fmt"
	"os"
	"strings"
)

var fields = []string{"gcPercent", "memoryLimit", "heapMarked", "lastHeapGoal",
	"assistTime", "dedicatedMarkTime", "fractionalMarkTime", "idleMarkTime"}

func main() {
	if len(os.Args) < 2 {
		fmt.Fprintln(os.Stderr, "usage: gcoffsets BINARY [TYPE.FIELD ...]")
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
	if len(os.Args) > 2 {
		printFields(d, os.Args[2:])
		return
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

// printFields resolves "runtime.m.p" as field p of struct type runtime.m (the type name is
// everything before the last dot).
func printFields(d *dwarf.Data, specs []string) {
	types := map[string]*dwarf.StructType{}
	r := d.Reader()
	for {
		e, err := r.Next()
		if err != nil || e == nil {
			break
		}
		if e.Tag != dwarf.TagStructType {
			continue
		}
		name, _ := e.Val(dwarf.AttrName).(string)
		if name == "" || types[name] != nil {
			continue
		}
		if t, err := d.Type(e.Offset); err == nil {
			if st, ok := t.(*dwarf.StructType); ok {
				types[name] = st
			}
		}
	}
	for _, spec := range specs {
		if strings.HasPrefix(spec, "sizeof:") {
			name, size := strings.TrimPrefix(spec, "sizeof:"), int64(-1)
			if st := types[name]; st != nil {
				size = st.ByteSize
			}
			fmt.Printf("%s %d 0\n", spec, size)
			continue
		}
		dot := strings.LastIndex(spec, ".")
		off, size := int64(-1), int64(0)
		if st := types[spec[:dot]]; dot > 0 && st != nil {
			for _, m := range st.Field {
				if m.Name == spec[dot+1:] {
					off, size = m.ByteOffset, m.Type.Size()
				}
			}
		}
		fmt.Printf("%s %d %d\n", spec, off, size)
	}
}
