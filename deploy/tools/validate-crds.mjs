// Validate Strimzi and Prometheus Operator custom resources against their published models.
// Input on stdin: a JSON array of Kubernetes documents (other kinds are ignored).
// Prints one line per resource; exits 1 if any resource fails validation.
import { readFileSync } from "node:fs";
import { KafkaTopic } from "@kubernetes-models/strimzi-kafka-operator/kafka.strimzi.io/v1beta2/KafkaTopic";
import { PrometheusRule } from "@kubernetes-models/prometheus-operator/monitoring.coreos.com/v1/PrometheusRule";
import { ServiceMonitor } from "@kubernetes-models/prometheus-operator/monitoring.coreos.com/v1/ServiceMonitor";

const models = {
  "kafka.strimzi.io/v1beta2/KafkaTopic": KafkaTopic,
  "monitoring.coreos.com/v1/PrometheusRule": PrometheusRule,
  "monitoring.coreos.com/v1/ServiceMonitor": ServiceMonitor,
};

const docs = JSON.parse(readFileSync(0, "utf8"));
let checked = 0;
let failed = 0;
for (const doc of docs) {
  const Model = models[`${doc.apiVersion}/${doc.kind}`];
  if (!Model) continue;
  const name = `${doc.kind}/${doc.metadata?.name}`;
  try {
    new Model(doc).validate();
    checked += 1;
    console.log(`ok     ${name}`);
  } catch (err) {
    failed += 1;
    console.log(`FAILED ${name}: ${err.message}`);
  }
}
console.log(`${checked} custom resources valid, ${failed} invalid`);
process.exit(failed ? 1 : 0);
