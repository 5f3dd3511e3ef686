import type { FastifyPluginAsyncTypebox } from '@fastify/type-provider-typebox';
import type { ReloadReport } from '../../runtime/reload.js';
import { ReloadConfigError } from '../../runtime/reload.js';
import { internalError, unavailableError } from '../schemas/common.js';
import { ReloadReply, reloadErrors } from '../schemas/admin.js';

export interface AdminRoutesOptions {
  reload: (trigger: string) => Promise<ReloadReport>;
}

/** Operator actions. Under /v1, so the bearer tokens that guard the decision routes guard these too. */
export const adminRoutes: FastifyPluginAsyncTypebox<AdminRoutesOptions> = async (app, { reload }) => {
  app.post(
    '/v1/admin/reload',
    {
      schema: {
        summary: 'Reload guards',
        description:
          'Reads the configuration and guards folder again, as SIGHUP and WASMGUARD_WATCH do. Each new or changed guard is compiled, ' +
          'validated (sha256 pin included) and its pool warmed before it replaces the old version: new requests go to the new version, ' +
          'requests already running finish on the old one, whose pool then drains and closes. A guard that fails keeps its old version ' +
          'serving and is reported as failed with the reason; readiness is unaffected. Guards no longer configured answer 404. Unchanged ' +
          'guards (same digest and settings) are not touched. Server settings and backends are read only at start. Answers when the ' +
          'reload is done; a reload already running finishes first. Protected by bearer tokens when they are configured.',
        tags: ['guards'],
        response: { 200: ReloadReply, ...reloadErrors, ...internalError, ...unavailableError },
      },
    },
    async (request) => {
      try {
        return await reload('api');
      } catch (error) {
        // Refused, not failed: the error reply (422 from the status table) follows; the log says why at warn, not error.
        if (error instanceof ReloadConfigError) request.log.warn({ err: error }, 'reload refused');
        throw error;
      }
    },
  );
};
