# Writes customers.csv, the customer reference of pipelines/batch-analytics.yaml: for each customer_key 1–1000 of
# the original (aryansahu424/batch-analytics-platform), its home city (the fixed CUSTOMER_CITY_TUPLES of
# ingestion/ingest.py) and the customer_id and segment its ingestion/dim_customer.py gives it: Python's `random`
# seeded with hash(customer_key) (the key itself), then randint(100000, 999999) and choice(SEGMENTS). The original's
# signup_date (faker, "within the last 5 years" of the day it runs) moves with the clock and is left out.
#
#   python3 pipelines/reference/batch-analytics/make-customers.py ORIGINAL_INGEST_PY > pipelines/reference/batch-analytics/customers.csv
import ast
import random
import sys

SEGMENTS = ["Retail", "Corporate", "SMB", "Enterprise"]

source = open(sys.argv[1]).read()
start = source.index("CUSTOMER_CITY_TUPLES = ")
tuples = ast.literal_eval(source[start + len("CUSTOMER_CITY_TUPLES = "):source.index("]", start) + 1])
print("customer_key,customer_id,segment,city_key")
for key, city in tuples:
    random.seed(hash(key) % (2**32))
    customer_id = f"CUST-{random.randint(100000, 999999)}"
    segment = random.choice(SEGMENTS)
    print(f"{key},{customer_id},{segment},{city}")
