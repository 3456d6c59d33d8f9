/**
 * The Azure gate: partitions of VMs created through the Azure SDK for Java, tagged for reaping, tested against
 * WireMock. It arrives with its own issue; this module already builds with its dependencies and architecture rules.
 */
package dev.skyport.gate.azure;
