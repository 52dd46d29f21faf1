/* Tern's version, for the kernel and for modules built with the SDK.
 * CMake reads the project version from this file, so it is stated once. */
#ifndef TERN_SDK_VERSION_H
#define TERN_SDK_VERSION_H

#define TERN_VERSION_MAJOR 0
#define TERN_VERSION_MINOR 1
#define TERN_VERSION_PATCH 0
#define TERN_VERSION "0.1.0"

/* The nats-server release whose client-visible behaviour Tern matches;
 * INFO announces it as "version" since clients gate features on it. */
#define TERN_NATS_VERSION "2.9.10"

#endif
