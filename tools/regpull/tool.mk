# regpull speaks HTTP through libcurl (lib/http.cpp) and hashes with OpenSSL.
# libcurl's static archive drags in half of Debian, so regpull links dynamically.
regpull_LIBS := -lcurl -lssl -lcrypto
regpull_STATIC := no
