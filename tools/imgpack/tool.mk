# imgpack reads and writes tar layers with libarchive (dynamic: the static
# libarchive.a pulls in a dozen compression and ACL libraries), inflates with
# zlib and zstd itself, and digests with OpenSSL's libcrypto.
imgpack_LIBS := -larchive -lcrypto -lz -lzstd -lpthread
imgpack_STATIC := no
