#!/usr/bin/env python3
"""A console-socket receiver, as conmon or containerd's shim is one: listen on a unix socket, take
the pty master a runtime sends with SCM_RIGHTS, copy everything the container writes to stdout.
usage: console-receiver.py SOCKET_PATH   (prints "listening" once it accepts connections)"""
import os
import socket
import sys

server = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
server.bind(sys.argv[1])
server.listen(1)
print("listening", flush=True)
conn, _ = server.accept()
name, fds, _, _ = socket.recv_fds(conn, 4096, 1)
print("name:", name.decode(), flush=True)
master = fds[0]
os.write(master, b"hello-from-receiver\n")
while True:
    try:
        data = os.read(master, 4096)
    except OSError:  # EIO: the last process holding the terminal exited
        break
    if not data:
        break
    sys.stdout.write(data.decode(errors="replace"))
    sys.stdout.flush()
