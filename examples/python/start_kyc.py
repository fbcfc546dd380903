"""Drives kycVerificationWorkflow from Python, by type name and plain JSON: no TypeScript code is shared.

usage: python start_kyc.py <temporal address> <task queue> <customer id> [timing JSON]
Prints the workflow result as JSON. With PAYLOAD_ENCRYPTION_KEYS set, as for the worker, payloads are encrypted
(codec.py). Requirements: requirements.txt.
"""

import asyncio
import json
import os
import sys

from temporalio.client import Client
from temporalio.common import SearchAttributeKey, SearchAttributePair, TypedSearchAttributes

from codec import data_converter_from_env


async def main() -> None:
    address, task_queue, customer_id = sys.argv[1:4]
    workflow_input = {"customerId": customer_id}
    if len(sys.argv) > 4:
        workflow_input["timing"] = json.loads(sys.argv[4])
    client = await Client.connect(address, data_converter=data_converter_from_env())
    handle = await client.start_workflow(
        "kycVerificationWorkflow",
        workflow_input,
        id=f"kyc-verification-{customer_id}",
        task_queue=task_queue,
        search_attributes=TypedSearchAttributes(
            [
                SearchAttributePair(SearchAttributeKey.for_keyword("KycCustomerId"), customer_id),
                SearchAttributePair(SearchAttributeKey.for_keyword("KycStatus"), "UNCONFIRMED"),
            ]
        ),
    )
    result = await handle.result()
    # A query works on a closed run too: the worker replays it to answer.
    state = await handle.query("status")
    print(json.dumps({"phaseSeen": state["phase"], "result": result}))


if __name__ == "__main__":
    asyncio.run(main())
    # The SDK's Rust threads can outlive the event loop and abort the interpreter's teardown (SIGABRT after the
    # output was printed; temporalio/sdk-python#300). Everything is done here, so skip the teardown.
    sys.stdout.flush()
    os._exit(0)
