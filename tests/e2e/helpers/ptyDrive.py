"""Drives a program through a pseudo-terminal, as a person at a console would.

usage: python3 ptyDrive.py STEPS_JSON -- PROGRAM ARGS...
STEPS_JSON: [{"send": "text"}, {"expect": "regex", "timeout": 20}, ...]
Prints the whole transcript; exits 0 when every expectation was met (then waits for the
program to exit), 3 on a timeout (the transcript says where), or the program's own code.
"""
import json, os, pty, re, select, sys, time

steps = json.loads(sys.argv[1])
argv = sys.argv[sys.argv.index('--') + 1:]
pid, fd = pty.fork()
if pid == 0:
    os.execvp(argv[0], argv)

transcript = b''

def read_some(deadline):
    global transcript
    remaining = deadline - time.time()
    if remaining <= 0:
        return False
    ready, _, _ = select.select([fd], [], [], remaining)
    if not ready:
        return False
    try:
        chunk = os.read(fd, 4096)
    except OSError:
        return False
    if not chunk:
        return False
    transcript += chunk
    return True

for step in steps:
    if 'send' in step:
        os.write(fd, step['send'].encode())
        continue
    pattern = re.compile(step['expect'].encode())
    deadline = time.time() + step.get('timeout', 20)
    start = len(transcript) if step.get('new_only') else 0
    while not pattern.search(transcript[start:]):
        if not read_some(deadline):
            sys.stdout.write(transcript.decode('utf-8', 'replace'))
            sys.stdout.write('\n[ptyDrive] timed out waiting for %r\n' % step['expect'])
            os.kill(pid, 9)
            sys.exit(3)

deadline = time.time() + 20
while read_some(deadline):
    pass
_, status = os.waitpid(pid, 0)
sys.stdout.write(transcript.decode('utf-8', 'replace'))
sys.exit(os.waitstatus_to_exitcode(status))
