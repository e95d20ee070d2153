#!/usr/bin/env python3
"""ML Metadata's gRPC service for the lab, over the store that the `ml-metadata` wheel ships.

KFP's driver and launcher talk to MLMD over gRPC; upstream runs Google's C++ metadata_store_server image,
which cannot be had here. The wheel holds the same store as a Python extension with one function per RPC
taking and returning serialized messages, so every RPC is passed through by name, bytes in and bytes out,
and a store error becomes the gRPC status of the same code. Calls are serialized on one store handle:
enough for a lab, not for a production cluster.

    mlmd_server.py --port 8080 --mysql-host 127.0.0.1 --mysql-db metadb     (or --sqlite FILE)
"""

import argparse
import logging
import threading
from concurrent import futures

import grpc
from ml_metadata.metadata_store.pywrap.metadata_store_extension import metadata_store as extension
from ml_metadata.proto import metadata_store_pb2, metadata_store_service_pb2

SERVICE = "ml_metadata.MetadataStoreService"
STATUS = {code.value[0]: code for code in grpc.StatusCode}


def connection(args):
    config = metadata_store_pb2.ConnectionConfig()
    if args.sqlite:
        config.sqlite.filename_uri = args.sqlite
        config.sqlite.connection_mode = metadata_store_pb2.SqliteMetadataSourceConfig.READWRITE_OPENCREATE
    else:
        mysql = config.mysql
        mysql.host, mysql.port, mysql.database = args.mysql_host, args.mysql_port, args.mysql_db
        mysql.user, mysql.password, mysql.skip_db_creation = args.mysql_user, args.mysql_password, False
    return config


def handler(name, call, store, lock):
    def answer(request, context):
        if call is None:
            context.abort(grpc.StatusCode.UNIMPLEMENTED, f"{name} is not in the ml-metadata wheel's store")
        with lock:
            response, error, code = call(store, request)
        if code != 0:
            message = error.decode("utf-8", "replace") if isinstance(error, bytes) else str(error)
            logging.info("%s: code %d: %s", name, code, message[:300])
            context.abort(STATUS.get(code, grpc.StatusCode.UNKNOWN), message)
        return response

    # no request or response serializer: the store takes and gives serialized messages
    return grpc.unary_unary_rpc_method_handler(answer)


def main():
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--host", default="0.0.0.0")
    parser.add_argument("--port", type=int, default=8080)
    parser.add_argument("--sqlite", help="an SQLite file instead of MySQL")
    parser.add_argument("--mysql-host", default="127.0.0.1")
    parser.add_argument("--mysql-port", type=int, default=3306)
    parser.add_argument("--mysql-db", default="metadb")
    parser.add_argument("--mysql-user", default="root")
    parser.add_argument("--mysql-password", default="")
    args = parser.parse_args()
    logging.basicConfig(level=logging.INFO, format="%(asctime)s %(message)s")

    upgrade = metadata_store_pb2.MigrationOptions(enable_upgrade_migration=True)
    store = extension.CreateMetadataStore(connection(args).SerializeToString(), upgrade.SerializeToString())
    lock = threading.Lock()
    methods = metadata_store_service_pb2.DESCRIPTOR.services_by_name["MetadataStoreService"].methods
    missing = [m.name for m in methods if not hasattr(extension, m.name)]
    if missing:
        logging.warning("answered UNIMPLEMENTED (not in the wheel's store): %s", ", ".join(missing))
    handlers = {m.name: handler(m.name, getattr(extension, m.name, None), store, lock) for m in methods}

    limit = 64 << 20
    server = grpc.server(futures.ThreadPoolExecutor(max_workers=8),
                         options=[("grpc.max_receive_message_length", limit), ("grpc.max_send_message_length", limit)])
    server.add_generic_rpc_handlers((grpc.method_handlers_generic_handler(SERVICE, handlers),))
    server.add_insecure_port(f"{args.host}:{args.port}")
    server.start()
    logging.info("MLMD serving on %s:%d (%d methods)", args.host, args.port, len(handlers))
    server.wait_for_termination()


if __name__ == "__main__":
    main()
