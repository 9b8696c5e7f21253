"""The official Python client (Debian's python3-kubernetes) against a running skiff server.

Run by test/e2e/python-client.test.ts with KUBECONFIG set; each test is one thing a new user of
the client does first. Nothing here may be skipped: a missing feature is a failure.
"""
import os
import threading
import time
import unittest
import uuid

from kubernetes import client, config, utils, watch
from kubernetes.client.rest import ApiException

config.load_kube_config(config_file=os.environ["KUBECONFIG"])


def fresh_namespace(core):
    name = "py-" + uuid.uuid4().hex[:8]
    core.create_namespace(client.V1Namespace(metadata=client.V1ObjectMeta(name=name)))
    return name


def wait_for(condition, what, timeout=60):
    end = time.time() + timeout
    while not condition():
        if time.time() > end:
            raise AssertionError("timed out waiting for " + what)
        time.sleep(0.2)


def deployment(name, replicas=1):
    labels = {"app": name}
    return client.V1Deployment(
        metadata=client.V1ObjectMeta(name=name, labels=labels),
        spec=client.V1DeploymentSpec(
            replicas=replicas,
            selector=client.V1LabelSelector(match_labels=labels),
            template=client.V1PodTemplateSpec(
                metadata=client.V1ObjectMeta(labels=labels),
                spec=client.V1PodSpec(containers=[client.V1Container(name="c", image="skiff.local/busybox:1")]),
            ),
        ),
    )


class PythonClient(unittest.TestCase):
    @classmethod
    def setUpClass(cls):
        cls.core = client.CoreV1Api()
        cls.apps = client.AppsV1Api()
        cls.batch = client.BatchV1Api()
        cls.ns = fresh_namespace(cls.core)

    def test_delete_right_after_create(self):
        # The controllers write the Deployment's status in between; the DELETE must not conflict.
        for i in range(10):
            name = "race-%d" % i
            self.apps.create_namespaced_deployment(self.ns, deployment(name))
            self.apps.delete_namespaced_deployment(name, self.ns, body=client.V1DeleteOptions())
        for i in range(5):
            name = "job-%d" % i
            job = client.V1Job(
                metadata=client.V1ObjectMeta(name=name),
                spec=client.V1JobSpec(
                    template=client.V1PodTemplateSpec(
                        spec=client.V1PodSpec(restart_policy="Never", containers=[client.V1Container(name="c", image="skiff.local/busybox:1")])
                    )
                ),
            )
            self.batch.create_namespaced_job(self.ns, job)
            self.batch.delete_namespaced_job(name, self.ns, propagation_policy="Background")

    def test_watch_from_list_resource_version_with_label_selector(self):
        labels = {"team": "py"}
        self.core.create_namespaced_config_map(self.ns, client.V1ConfigMap(metadata=client.V1ObjectMeta(name="before", labels=labels)))
        listed = self.core.list_namespaced_config_map(self.ns, label_selector="team=py")
        self.assertEqual([c.metadata.name for c in listed.items], ["before"])
        seen = []
        w = watch.Watch()

        def make_changes():
            time.sleep(0.5)
            self.core.create_namespaced_config_map(self.ns, client.V1ConfigMap(metadata=client.V1ObjectMeta(name="other", labels={"team": "go"})))
            self.core.create_namespaced_config_map(self.ns, client.V1ConfigMap(metadata=client.V1ObjectMeta(name="after", labels=labels), data={"a": "1"}))
            self.core.patch_namespaced_config_map("after", self.ns, {"data": {"a": "2"}})
            self.core.delete_namespaced_config_map("after", self.ns)

        writer = threading.Thread(target=make_changes)
        writer.start()
        for event in w.stream(
            self.core.list_namespaced_config_map,
            self.ns,
            label_selector="team=py",
            resource_version=listed.metadata.resource_version,
            timeout_seconds=30,
        ):
            seen.append((event["type"], event["object"].metadata.name))
            if event["type"] == "DELETED":
                w.stop()
        writer.join()
        self.assertEqual(seen, [("ADDED", "after"), ("MODIFIED", "after"), ("DELETED", "after")])

    def test_create_from_multi_document_yaml(self):
        path = os.path.join(os.path.dirname(__file__), "multi.yaml")
        created = utils.create_from_yaml(client.ApiClient(), path, namespace=self.ns)
        kinds = sorted(o.kind for group in created for o in group)
        self.assertEqual(kinds, ["ConfigMap", "Deployment", "Service"])
        svc = self.core.read_namespaced_service("multi", self.ns)
        self.assertEqual(svc.spec.ports[0].protocol, "TCP")
        self.assertEqual(self.apps.read_namespaced_deployment("multi", self.ns).spec.replicas, 2)
        # A second create of the same file reports every object that already exists.
        with self.assertRaises(utils.FailToCreateError) as failed:
            utils.create_from_yaml(client.ApiClient(), path, namespace=self.ns)
        self.assertEqual(sorted(e.status for e in failed.exception.api_exceptions), [409, 409, 409])

    def test_replication_controller_crud(self):
        labels = {"app": "rc"}
        rc = client.V1ReplicationController(
            metadata=client.V1ObjectMeta(name="rc"),
            spec=client.V1ReplicationControllerSpec(
                replicas=2,
                selector=labels,
                template=client.V1PodTemplateSpec(
                    metadata=client.V1ObjectMeta(labels=labels),
                    spec=client.V1PodSpec(containers=[client.V1Container(name="c", image="skiff.local/busybox:1")]),
                ),
            ),
        )
        created = self.core.create_namespaced_replication_controller(self.ns, rc)
        self.assertEqual(created.spec.selector, labels)
        self.assertEqual(created.metadata.labels, labels, "labels default from the template")
        self.assertEqual([r.metadata.name for r in self.core.list_namespaced_replication_controller(self.ns).items], ["rc"])
        wait_for(lambda: len(self.core.list_namespaced_pod(self.ns, label_selector="app=rc").items) == 2, "two pods")
        self.core.patch_namespaced_replication_controller_scale("rc", self.ns, {"spec": {"replicas": 3}})
        self.assertEqual(self.core.read_namespaced_replication_controller_scale("rc", self.ns).spec.replicas, 3)
        wait_for(lambda: self.core.read_namespaced_replication_controller_status("rc", self.ns).status.replicas == 3, "status.replicas 3")
        current = self.core.read_namespaced_replication_controller("rc", self.ns)
        current.spec.template.spec.containers[0].image = "skiff.local/busybox:2"
        replaced = self.core.replace_namespaced_replication_controller("rc", self.ns, current)
        self.assertEqual(replaced.spec.template.spec.containers[0].image, "skiff.local/busybox:2")
        self.core.delete_namespaced_replication_controller("rc", self.ns, propagation_policy="Background")
        wait_for(lambda: not self.core.list_namespaced_pod(self.ns, label_selector="app=rc").items, "the pods to be collected")

    def test_errors_are_statuses(self):
        with self.assertRaises(ApiException) as missing:
            self.core.read_namespaced_config_map("nope", self.ns)
        self.assertEqual(missing.exception.status, 404)
        self.assertIn('configmaps \\"nope\\" not found', missing.exception.body)


if __name__ == "__main__":
    unittest.main()
