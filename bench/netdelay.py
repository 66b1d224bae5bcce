#!/usr/bin/python3
"""netdelay.py LISTEN_PORT TARGET_PORT DELAY_MS: a TCP relay on 127.0.0.1 that holds every chunk
DELAY_MS before passing it on, in both directions, so that each round trip through it takes about
2 x DELAY_MS more: PostgreSQL "on another machine" for bench/cluster.sh --rtt-ms. The relay's own
work (Python, on the same cores as everything else) adds to the delay: it is an emulation of a
network, good for comparing two programs through the same relay, not a network model.
Debian python3, standard library only; 127.0.0.1 only. Stops on SIGTERM."""
import asyncio
import signal
import sys


async def pump(reader, writer, delay):
    loop = asyncio.get_running_loop()
    queue = asyncio.Queue()

    async def send():
        while True:
            due, data = await queue.get()
            if data is None:
                break
            wait = due - loop.time()
            if wait > 0:
                await asyncio.sleep(wait)
            writer.write(data)
            await writer.drain()
        writer.close()

    sender = asyncio.create_task(send())
    try:
        while True:
            data = await reader.read(65536)
            if not data:
                break
            queue.put_nowait((loop.time() + delay, data))
    finally:
        queue.put_nowait((0, None))
        await sender


async def main():
    listen, target, delay = int(sys.argv[1]), int(sys.argv[2]), float(sys.argv[3]) / 1000.0

    async def handle(r1, w1):
        try:
            r2, w2 = await asyncio.open_connection('127.0.0.1', target)
        except OSError:
            w1.close()
            return
        await asyncio.gather(pump(r1, w2, delay), pump(r2, w1, delay), return_exceptions=True)

    server = await asyncio.start_server(handle, '127.0.0.1', listen)
    stop = asyncio.Event()
    asyncio.get_running_loop().add_signal_handler(signal.SIGTERM, stop.set)
    async with server:
        await stop.wait()


if __name__ == '__main__':
    if len(sys.argv) != 4:
        sys.stderr.write('usage: netdelay.py LISTEN_PORT TARGET_PORT DELAY_MS\n')
        sys.exit(2)
    asyncio.run(main())
