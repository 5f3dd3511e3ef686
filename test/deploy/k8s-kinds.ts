/**
 * The Kubernetes API kinds the charts render, typed by kubernetes-types (its
 * version is the Kubernetes minor it was generated from: the chart's minimum,
 * 1.30). k8s-schema.ts turns this interface into JSON Schemas.
 */
import type { Deployment } from 'kubernetes-types/apps/v1.js';
import type { HorizontalPodAutoscaler } from 'kubernetes-types/autoscaling/v2.js';
import type { ConfigMap, Pod, Service, ServiceAccount } from 'kubernetes-types/core/v1.js';
import type { PodDisruptionBudget } from 'kubernetes-types/policy/v1.js';

/** apiVersion/kind -> the object's type. */
export interface KubernetesKinds {
  'apps/v1/Deployment': Deployment;
  'autoscaling/v2/HorizontalPodAutoscaler': HorizontalPodAutoscaler;
  'v1/ConfigMap': ConfigMap;
  'v1/Pod': Pod;
  'v1/Service': Service;
  'v1/ServiceAccount': ServiceAccount;
  'policy/v1/PodDisruptionBudget': PodDisruptionBudget;
}
