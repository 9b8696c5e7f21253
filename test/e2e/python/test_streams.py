"""exec and port-forward through the official Python client (kubernetes.stream), which speaks the
WebSocket channel protocol v4.channel.k8s.io to the API server.

Environment: KUBECONFIG, POD (running busybox with httpd on PORT, serving "hello-ws").
"""
import json
import os
import unittest

from kubernetes import client, config
from kubernetes.stream import portforward, stream
from kubernetes.stream.ws_client import ERROR_CHANNEL

config.load_kube_config(config_file=os.environ["KUBECONFIG"])
POD = os.environ["POD"]
PORT = int(os.environ["PORT"])


def exec_(command, **kwargs):
    opts = dict(stderr=True, stdin=False, stdout=True, tty=False)
    opts.update(kwargs)
    return stream(client.CoreV1Api().connect_get_namespaced_pod_exec, POD, "default", command=command, **opts)


class Exec(unittest.TestCase):
    def test_all_output(self):
        self.assertEqual(exec_(["sh", "-c", "echo hello from python"]), "hello from python\n")

    def test_channels_and_exit_code(self):
        resp = exec_(["sh", "-c", "echo out; echo err >&2; exit 3"], _preload_content=False)
        resp.run_forever(timeout=60)
        self.assertEqual(resp.read_stdout(), "out\n")
        self.assertEqual(resp.read_stderr(), "err\n")
        self.assertEqual(resp.returncode, 3)

    def test_error_channel_status(self):
        resp = exec_(["sh", "-c", "exit 7"], _preload_content=False)
        resp.run_forever(timeout=60)
        status = json.loads(resp.read_channel(ERROR_CHANNEL))
        self.assertEqual(status["status"], "Failure")
        self.assertEqual(status["reason"], "NonZeroExitCode")
        self.assertEqual(status["details"]["causes"][0], {"reason": "ExitCode", "message": "7"})

    def test_success(self):
        resp = exec_(["true"], _preload_content=False)
        resp.run_forever(timeout=60)
        self.assertEqual(resp.returncode, 0)

    def test_stdin(self):
        # head -c reads exactly what is sent and exits (v4 has no way to close stdin alone).
        resp = exec_(["busybox", "head", "-c", "9"], stdin=True, _preload_content=False)
        resp.write_stdin("piped in\n")
        resp.run_forever(timeout=60)
        self.assertEqual(resp.read_stdout(), "piped in\n")
        self.assertEqual(resp.returncode, 0)

    def test_bad_container(self):
        with self.assertRaises(Exception) as ctx:
            exec_(["true"], container="nope")
        self.assertIn("400", str(ctx.exception))


class Logs(unittest.TestCase):
    def test_follow_with_timestamps(self):
        # The client sends follow=True and timestamps=True: both must reach the node as booleans.
        resp = client.CoreV1Api().read_namespaced_pod_log(POD, "default", follow=True, timestamps=True, _preload_content=False)
        exec_(["sh", "-c", "echo followed line > /proc/1/fd/1"])
        seen = b""
        for chunk in resp.stream(1024):
            seen += chunk
            if b"followed line" in seen:
                break
        resp.release_conn()
        line = [l for l in seen.decode().splitlines() if l.endswith("followed line")]
        self.assertEqual(len(line), 1, "the line written after the request arrived on the followed stream: %r" % seen)
        self.assertRegex(line[0], r"^\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d\.\d+Z followed line$")


class PortForward(unittest.TestCase):
    def fetch(self):
        pf = portforward(client.CoreV1Api().connect_get_namespaced_pod_portforward, POD, "default", ports=str(PORT))
        sock = pf.socket(PORT)
        sock.setblocking(True)
        # HTTP/1.0: the server closes after its answer, which ends the forwarded connection.
        sock.sendall(b"GET / HTTP/1.0\r\nHost: pod\r\n\r\n")
        data = b""
        while True:
            chunk = sock.recv(65536)
            if not chunk:
                break
            data += chunk
        sock.close()
        return data.decode(), pf.error(PORT)

    def test_http_through_the_forward(self):
        for _ in range(2):
            answer, error = self.fetch()
            self.assertRegex(answer, r"^HTTP/1\.[01] 200 OK\r\n")
            self.assertTrue(answer.endswith("hello-ws\n"), answer)
            self.assertIsNone(error)


if __name__ == "__main__":
    unittest.main()
