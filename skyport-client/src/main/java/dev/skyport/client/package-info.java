/**
 * The REST client: {@code SkyPort} over the daemon's {@code /api/v1}. It arrives with the daemon; this module already
 * builds with its dependencies (OkHttp, Jackson) and its architecture rules.
 */
package dev.skyport.client;
